# The production image of source-timify. Airbyte's Python connector base image, pinned by digest
# exactly as connectorBuildOptions.baseImage in metadata.yaml declares it. Tests swap only the
# base (`--build-arg BASE_IMAGE=...`, see scripts/docker_test.sh); everything below is what ships.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
FROM ${BASE_IMAGE}

WORKDIR /airbyte/integration_code

# The connector lives in its own virtual environment: it works the same on the base image and on
# a distribution Python that refuses system-wide installs (PEP 668), and keeps the base's packages
# out of the connector's dependency resolution.
ENV VIRTUAL_ENV=/opt/source-timify \
    PATH=/opt/source-timify/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# The dependencies exactly as poetry.lock pins them, hash-checked (requirements.txt is exported
# from the lock: `make lock`), in their own layer; then the package alone, without resolving
# anything. A change to docs or tests invalidates neither.
COPY requirements.txt ./
RUN python3 -m venv "$VIRTUAL_ENV" \
 && pip install --quiet --require-hashes -r requirements.txt
COPY pyproject.toml README.md ./
COPY source_timify ./source_timify
RUN pip install --quiet --no-deps . \
 && pip check \
 && source-timify spec > /dev/null

# Airbyte's Python connectors run as the non-root user `airbyte` (uid 1000). Create it when the
# base image does not have it.
RUN if ! id airbyte > /dev/null 2>&1; then \
      if command -v useradd > /dev/null 2>&1; then \
        useradd --uid 1000 --user-group --create-home --shell /usr/sbin/nologin airbyte; \
      else \
        echo 'airbyte:x:1000:1000:airbyte:/home/airbyte:/usr/sbin/nologin' >> /etc/passwd \
        && echo 'airbyte:x:1000:' >> /etc/group && mkdir -p /home/airbyte \
        && chown 1000:1000 /home/airbyte; \
      fi; \
    fi \
 && chown -R "$(id -u airbyte):$(id -g airbyte)" /airbyte
USER airbyte

ENV AIRBYTE_ENTRYPOINT="source-timify"
ENTRYPOINT ["source-timify"]

LABEL io.airbyte.name=airbyte/source-timify
LABEL io.airbyte.version=0.5.4
