# Production image of the CopilotKit runtime (see README: Deploy).
# Build: docker build -t copilot-runtime .   Run: docker run -e DATABASE_URL=... -p 4000:4000 copilot-runtime
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The lockfile, exactly: the image gets the versions the tests ran with.
# patches/: fixes to dependencies, applied by the postinstall script (see README: Patched dependencies).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.image.json ./
COPY schema ./schema
COPY src ./src
# The server only (tsconfig.image.json: src/, not bench/ or test/), then production dependencies only.
RUN npx tsc -p tsconfig.image.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=4000 HOST=0.0.0.0 LOG_FORMAT=json
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node schema ./schema
# The embedded database's directory (used only without DATABASE_URL) must be writable by the user.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
# Ready = not draining, database answering, migrations applied, Redis answering when configured.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM starts the graceful drain (SHUTDOWN_DRAIN_MS, default 20 s, then up to 10 s to stop what is
# left): give the container at least 35 s to stop (docker stop -t 35, compose stop_grace_period).
STOPSIGNAL SIGTERM
# No npm in front: signals reach node directly, and nothing is compiled at start.
CMD ["node", "--max-semi-space-size=32", "dist/src/main.js"]
