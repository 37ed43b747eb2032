# kubelab's one image: every agent, the node supervisor and the CLI; compose.yaml picks the program.
#
#   docker compose build                                         # deps downloaded from npm
#   docker/prepare-offline.sh && DENO_DIR_SEED=docker/deno-dir.tar docker compose build   # no network
#
# Works with the legacy builder and BuildKit, and on base images without a shell: every RUN is in exec
# form. The base image needs deno on PATH, DENO_DIR=/deno-dir/ writable by uid 1993 (the `deno` user of
# the official images) — denoland/deno:* and docker/build-test-images.sh's image both are.

ARG DENO_IMAGE=denoland/deno:2.9.6
FROM ${DENO_IMAGE}

# A tar archive of a DENO_DIR (docker/prepare-offline.sh) unpacked into /deno-dir before `deno install`,
# which then needs no network. The default is a placeholder text file: ADD copies it as it is and the
# dependencies are downloaded.
ARG DENO_DIR_SEED=docker/deno-dir-seed.txt

ENV DENO_DIR=/deno-dir/ \
    DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1
WORKDIR /app
USER 1993:1993

# Dependencies first: this layer is rebuilt only when deno.json, deno.lock or the seed change.
COPY deno.json deno.lock ./
ADD --chown=1993:1993 ${DENO_DIR_SEED} /deno-dir/
RUN ["deno", "install", "--frozen"]

# Then the sources, and every program compiled into the cache once, so that containers start fast and
# never fetch anything (they run with --cached-only).
COPY . .
RUN ["deno", "cache", "--frozen", \
     "agents/state/main.ts", \
     "agents/scheduler/main.ts", \
     "agents/controllers/main.ts", \
     "agents/runtime/main.ts", \
     "agents/kubelet/main.ts", \
     "agents/kube-proxy/main.ts", \
     "lab/node_main.ts", \
     "cli/main.ts", \
     "docker/healthcheck.ts"]

ENTRYPOINT ["deno", "run", "-A", "--cached-only", "--frozen"]
CMD ["agents/state/main.ts"]
