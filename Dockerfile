# syntax=docker/dockerfile:1.7
# One multi-stage image definition for every app of the workspace; pick the app with the APP build
# argument (whatsapp-ingress | wechat-ingress | chatwoot-ingress | telegram-ingress | worker | admin):
#   docker build --build-arg APP=worker -t switchboard/worker .
# docker-compose.yml builds each service this way.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: install the whole workspace, build the app and its workspace dependencies ----
FROM ${NODE_IMAGE} AS build
ARG APP
RUN test -n "$APP" || (echo "build with --build-arg APP=<app name under apps/>" && exit 1)
ENV CI=true TURBO_TELEMETRY_DISABLED=1 PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN corepack enable && corepack prepare pnpm@10.34.8 --activate
WORKDIR /repo
# manifests first so the dependency layer is cached across source changes
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml turbo.json tsconfig.base.json ./
COPY apps/admin/package.json apps/admin/
COPY apps/chatwoot-ingress/package.json apps/chatwoot-ingress/
COPY apps/telegram-ingress/package.json apps/telegram-ingress/
COPY apps/wechat-ingress/package.json apps/wechat-ingress/
COPY apps/whatsapp-ingress/package.json apps/whatsapp-ingress/
COPY apps/worker/package.json apps/worker/
COPY packages/agent/package.json packages/agent/
COPY packages/channel-chatwoot/package.json packages/channel-chatwoot/
COPY packages/channel-runtime/package.json packages/channel-runtime/
COPY packages/channel-telegram/package.json packages/channel-telegram/
COPY packages/channel-wechat-kf/package.json packages/channel-wechat-kf/
COPY packages/channel-whatsapp/package.json packages/channel-whatsapp/
COPY packages/channels/package.json packages/channels/
COPY packages/client/package.json packages/client/
COPY packages/core/package.json packages/core/
COPY packages/fetch/package.json packages/fetch/
COPY packages/ingress/package.json packages/ingress/
COPY packages/knowledge/package.json packages/knowledge/
COPY packages/media/package.json packages/media/
COPY packages/queue/package.json packages/queue/
COPY packages/record/package.json packages/record/
COPY packages/store/package.json packages/store/
COPY packages/testkit/package.json packages/testkit/
COPY scripts/package.json scripts/
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile
COPY . .
# packages/queue's build also copies its Redis Lua scripts (src/scripts/*.lua) into dist/scripts,
# which its `files` field ships with the deployed app
RUN pnpm exec turbo run build --filter=@switchboard/${APP}...
# a self-contained directory: the app, its production dependencies and built workspace packages
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm --filter=@switchboard/${APP} deploy --prod --legacy /out \
 && mkdir -p /out/config && cp -r config/. /out/config/

# ---- runtime: node + the deployed app, as the unprivileged `node` user ----
FROM ${NODE_IMAGE} AS runtime
ARG APP
# the worker converts voice notes with ffmpeg (media pipeline); the other apps do not need it
RUN if [ "$APP" = "worker" ]; then \
      apt-get update && apt-get install -y --no-install-recommends ffmpeg ca-certificates && rm -rf /var/lib/apt/lists/*; \
    fi
ENV NODE_ENV=production APP=${APP}
WORKDIR /app
COPY --from=build --chown=node:node /out/ ./
USER node
# graceful shutdown: every app drains on SIGTERM (compose's stop_grace_period gives it 30 s)
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
