"""PIM images pipeline core: Akeneo images to SFCC and BSPK files, with no Airflow inside."""
