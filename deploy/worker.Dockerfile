# syntax=docker/dockerfile:1
# The hitl-agent worker. Build context: the repo root (docker-compose.yml sets it).
#   docker build -f deploy/worker.Dockerfile -t hitl-agent-worker .

# --- deps: production node_modules, compiling better-sqlite3 if no prebuilt binary fits ---
FROM node:20.20.2-bookworm-slim AS deps
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: the worker runs TypeScript through tsx and bundles workflows with @temporalio/worker, both
# runtime dependencies; the compiler, linters and the test server stay out of the image.
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime: no compilers ---
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json worker.ts ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY policies ./policies
# .data holds the generated billing database; created here so a fresh named volume mounted on it
# starts out owned by the unprivileged user.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# tsx's own binary rather than `npx tsx`: npx could go to the registry if tsx were ever missing.
# The worker drains on SIGTERM (docker stop); give it stop_grace_period to finish running activities.
CMD ["node_modules/.bin/tsx", "worker.ts"]
