# The project's Airflow image: Airflow 3.3.2 on Python 3.11 with the pinned requirements and the
# pim-images package (include/ and plugins/), the DAG and its configuration under /opt/pim-images.
# Built once by docker-compose.yaml (every Airflow service runs it); on Kubernetes, push it and
# name it in the Helm chart's values (README, "Running on a cluster").
#
#   docker build -t pim-images:latest .                     the runtime image
#   docker build --target sandbox -t pim-images-sandbox .   plus the development sandbox
FROM apache/airflow:3.3.2-python3.11 AS runtime

# Dependencies first (a layer that changes only with the pins), with the lock as constraints.
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/pim-images/
RUN pip install --no-cache-dir -r /opt/pim-images/requirements.txt -c /opt/pim-images/constraints.txt

# The project: the package (no dependencies: all pinned above), the DAG, its configuration.
COPY --chown=airflow:0 pyproject.toml /opt/pim-images/
COPY --chown=airflow:0 include /opt/pim-images/include
COPY --chown=airflow:0 plugins /opt/pim-images/plugins
COPY --chown=airflow:0 dags /opt/pim-images/dags
COPY --chown=airflow:0 config /opt/pim-images/config
RUN pip install --no-cache-dir --no-deps /opt/pim-images

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/pim-images/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/pim-images/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    PIM_IMAGES_CONFIG=/opt/pim-images/config/pim_images.yaml

# The sandbox Akeneo and SFTP (a development package, never in the runtime image): its
# dependencies (FastAPI, uvicorn, asyncssh, Pillow) are already there.
FROM runtime AS sandbox
COPY --chown=airflow:0 sandbox /opt/pim-images/sandbox
RUN pip install --no-cache-dir --no-deps /opt/pim-images/sandbox

FROM runtime
