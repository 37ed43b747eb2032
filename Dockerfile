# kubelab's one image: every agent, the node supervisor and the CLI; compose.yaml picks the program.
#
#   docker compose build                                         # deps downloaded from npm
#   docker/prepare-offline.sh && DENO_DIR_SEED=docker/deno-dir.tar docker compose build   # no network
#
# Works with the legacy builder and BuildKit: every RUN is in exec form, so building needs no shell. The
# base image needs deno on PATH, DENO_DIR=/deno-dir/ writable by uid 1993 (the `deno` user of the
# official images) and, for compose's healthchecks, bash — denoland/deno:* (Debian) and
# docker/build-test-images.sh's image all have them.

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

# compose.yaml's secret volumes (lab/compose_init.ts) mount here, one folder per service; a new volume
# takes its owner from the image, so the init service (uid 1993) can write them.
RUN ["deno", "eval", "Deno.mkdirSync('/kubelab'); Deno.chmodSync('/kubelab', 0o755); for (const d of ['keys', 'nats', 'state', 'scheduler', 'controllers', 'node', 'admin', 'tap']) { Deno.mkdirSync(`/kubelab/${d}`); Deno.chmodSync(`/kubelab/${d}`, 0o700); Deno.chownSync(`/kubelab/${d}`, 1993, 1993); }"]
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
     "lab/compose_init.ts", \
     "cli/main.ts"]

ENTRYPOINT ["deno", "run", "-A", "--cached-only", "--frozen"]
CMD ["agents/state/main.ts"]
