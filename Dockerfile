# syntax=docker/dockerfile:1
# The JobManager image: multi-stage, production dependencies only, runs as
# uid 1000, entrypoint bin/jobmanager (computes the V8 flags from the memory
# plan, then execs node - node is PID 1 and handles SIGTERM itself with a
# graceful shutdown; `docker run --init` / `podman run --init` also works).
#
#   docker build -t jobmanager:dev .
#   docker run --rm -p 8081:8081 --memory 1g jobmanager:dev
#
# BASE_IMAGE must provide node and npm (official node images do) and a user
# with uid 1000.
ARG BASE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, compile TypeScript --------------------------
FROM ${BASE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY app ./app
RUN npx tsc -p tsconfig.json

# --- production dependencies only ------------------------------------------
FROM ${BASE_IMAGE} AS deps
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ------------------------------------------------------------------
FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="jobmanager" \
      org.opencontainers.image.description="A memory-planned stream-processing JobManager (Apache Flink's coordinator role) for Node.js" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/example/jobmanager" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
ENV NODE_ENV=production \
    REST_BIND_ADDRESS=0.0.0.0 \
    JOBMANAGER_RPC_BIND_ADDRESS=0.0.0.0 \
    JOBMANAGER_STORAGE_DIR=/var/lib/jobmanager/data
WORKDIR /app
# Application files belong to root and are read-only for the runtime user;
# only the storage directory (a volume in Kubernetes) and /tmp are writable.
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
RUN chmod 0755 bin/* \
 && mkdir -p /var/lib/jobmanager/data \
 && chown -R 1000:1000 /var/lib/jobmanager
# Storage survives container restarts and stays writable under --read-only
# (Kubernetes ignores VOLUME; the chart mounts an emptyDir or a PVC here).
VOLUME ["/var/lib/jobmanager"]
USER 1000:1000
EXPOSE 8081 6123
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/bin/jobmanager"]
