# Provisio's production image: compiled JavaScript, production dependencies, a non-root user.
#
# Node 24: the dependencies declare node >= 22.12 (pg-boss 12), >= 22 (cookie 2, content-disposition 3) and
# ^20.19 || ^22.12 || ^24 || ^26 (auth0 7), so 22.12 is the floor (package.json `engines` says so). 22 leaves
# support in April 2027; 24 is a long-term-support line until April 2028 that every dependency has been
# released against for a year; 26 became LTS only in October 2026.
#
# NODE_IMAGE lets the image be built from another base of the same Node version, e.g. where no registry
# serves `node:` images (test/container/base-image.sh builds one). Plain `docker build` works: no `# syntax=`
# line, no BuildKit-only instruction.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build stage: compile TypeScript and the web console (Vite, into dist/console) with the full dependency
# tree, then drop the development dependencies (the console's libraries are bundled into its files).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm ci's layer depends on the lockfile alone: it installs from the manifest the lockfile records (name,
# version, license, dependencies, engines), and the real package.json comes after it. A change to a script or
# to the test settings in package.json then reuses the installed dependencies instead of installing all of them
# again (a build that did took 211 s on the 2-core CI machine, one with the layer kept about 35 s).
COPY package-lock.json ./
RUN node -e "const { bin, ...manifest } = require('./package-lock.json').packages['']; require('fs').writeFileSync('package.json', JSON.stringify(manifest))" \
 && npm ci --no-audit --no-fund
COPY package.json ./
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && npm cache clean --force
# Type declarations, source maps and markdown are never loaded at run time: a third of node_modules.
RUN find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' \) -delete

# Runtime stage: production dependencies and compiled code only, as the unprivileged `node` user.
FROM ${NODE_IMAGE}
# NODE_ENV=production: `serve` refuses to start without an Auth0 tenant (AUTH0_DOMAIN, AUTH0_CLIENT_ID,
# AUTH0_CLIENT_SECRET) unless AUTH0_EMULATOR=true asks for the in-memory emulator (docs/operations.md).
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The Post-Login Action's code: `provisio action deploy` and the admin API deploy it to Auth0.
COPY action/post-login.js action/package.json ./action/
# `provisio …` on the PATH, for `docker exec <container> provisio tenant create …`. /data is the embedded
# database's home (zero-config, no DATABASE_URL): owned by `node`, so an empty named volume mounted there
# is writable, and the database's lock and control socket live inside it.
RUN ln -s /app/bin/provisio.js /usr/local/bin/provisio && mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# Liveness (/healthz: the process answers). Readiness, which also needs the database, is /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# node is PID 1 and handles SIGTERM itself: in-flight requests finish, the sync stops, the database closes.
ENTRYPOINT ["node", "dist/cli/index.js"]
CMD ["serve"]
