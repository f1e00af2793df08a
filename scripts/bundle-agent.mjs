#!/usr/bin/env node
// Builds the one-file agent, dist/llm-health-agent.mjs (deploy/README.md `deploy`): the `agent`,
// `check` and `config validate` commands with every dependency (ws, undici, pino, ajv, yaml,
// nanoid) bundled in, so a GPU host needs only `node` (20+). esbuild compiles the TypeScript
// sources directly (entry: deploy/agent-entry.ts); it does not type-check them — tsc does that
// (`tsc -p deploy/tsconfig.json` for the entry, the root tsconfig for everything it imports).
//
// Run by `npm run build` after tsc. Failing to bundle is fatal only with LLMH_BUNDLE_STRICT=1
// (CI, test/deploy); otherwise it prints the error, warns and exits 0 so that `npm run build`
// stays usable while agent code is half-written.
//
//   node scripts/bundle-agent.mjs            # dist/llm-health-agent.mjs
//   LLMH_BUNDLE_STRICT=1 node scripts/bundle-agent.mjs
//   LLMH_BUNDLE_OUT=/tmp/x.mjs node scripts/bundle-agent.mjs    # elsewhere (tests)
//   LLMH_BUNDLE_ENTRY=other.ts ...                               # another entry (tests)
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = process.env.LLMH_BUNDLE_ENTRY || join(root, 'deploy', 'agent-entry.ts');
const outfile = process.env.LLMH_BUNDLE_OUT || join(root, 'dist', 'llm-health-agent.mjs');
const strict = process.env.LLMH_BUNDLE_STRICT === '1';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Packages the agent must never pull in: they are coordinator-only, and better-sqlite3 is a
 * native addon that cannot live inside a one-file bundle. Importing one is a build error that
 * names the importer, not a crash on a GPU host.
 */
const FORBIDDEN = ['better-sqlite3', 'bindings', 'prom-client', 'nodemailer'];
/**
 * ws's optional native speed-ups: ws falls back to JavaScript when they are missing, which
 * they always are in the bundle.
 */
const OPTIONAL_EXTERNAL = ['bufferutil', 'utf-8-validate'];

function fail(message) {
  // never leave an older bundle behind that no longer matches the sources
  rmSync(outfile, { force: true });
  const text = `bundle-agent: could not build ${relative(root, outfile)}\n${message}`;
  if (strict) {
    process.stderr.write(`${text}\n`);
    process.exit(1);
  }
  process.stderr.write(`${text}\nbundle-agent: WARNING: continuing without the one-file agent (set LLMH_BUNDLE_STRICT=1 to make this fatal)\n`);
  process.exit(0);
}

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (err) {
  fail(`esbuild is not installed (npm install -D esbuild): ${err.message}`);
}

/** cli/version.ts reads ../../package.json at run time; the bundle has none, so inline it. */
const versionPlugin = {
  name: 'llm-health-version',
  setup(build) {
    build.onResolve({ filter: /(^|\/)version\.js$/ }, (args) => {
      const target = join(args.resolveDir, args.path.replace(/\.js$/, '.ts'));
      if (relative(root, target) !== join('cli', 'version.ts')) return undefined;
      return { path: 'llm-health:version', namespace: 'llm-health-version' };
    });
    build.onLoad({ filter: /.*/, namespace: 'llm-health-version' }, () => ({
      contents: `export const version = ${JSON.stringify(String(pkg.version))};\n`,
      loader: 'js',
    }));
  },
};

/** Fails the build when the agent graph reaches a coordinator-only or native package. */
const guardPlugin = {
  name: 'llm-health-agent-guard',
  setup(build) {
    // The metrics endpoint imports prom-client at run time, only when metrics.listen is set:
    // left out of the bundle (it would cost every agent its source text in memory) and
    // loaded from a node_modules beside the bundle; anywhere else it stays forbidden.
    build.onResolve({ filter: /^prom-client$/ }, (args) =>
      args.kind === 'dynamic-import' && relative(root, args.importer) === join('agent', 'metrics', 'server.ts') ? { path: args.path, external: true } : undefined,
    );
    const re = new RegExp(`^(${FORBIDDEN.map((n) => n.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|')})(/|$)`);
    build.onResolve({ filter: re }, (args) => ({
      errors: [{ text: `the one-file agent must not depend on ${JSON.stringify(args.path)} (imported by ${relative(root, args.importer)}); keep it behind the coordinator` }],
    }));
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = relative(root, join(args.resolveDir, args.path));
      if (/^(coordinator|demo|bench|test)\//.test(target)) {
        return { errors: [{ text: `the one-file agent must not import ${target} (imported by ${relative(root, args.importer)})` }] };
      }
      return undefined;
    });
  },
};

/*
 * ESM output, but several bundled dependencies are CommonJS (pino, ajv, ws, yaml's CJS
 * build...): esbuild's CJS wrappers call `require` for node builtins, and some read
 * __filename/__dirname. The banner provides them under the names CJS code expects. esbuild does
 * not see the banner, so a project module declaring a top-level `require`, `__filename` or
 * `__dirname` of its own would clash (SyntaxError at load): test/deploy loads the bundle.
 */
const banner = [
  '#!/usr/bin/env node',
  `// llm-health ${pkg.version}: one-file agent (agent, check, config validate). Generated by scripts/bundle-agent.mjs; do not edit.`,
  "import { createRequire as __llmhCreateRequire } from 'node:module';",
  "import { fileURLToPath as __llmhFileURLToPath } from 'node:url';",
  "import { dirname as __llmhDirname } from 'node:path';",
  'const require = __llmhCreateRequire(import.meta.url);',
  'const __filename = __llmhFileURLToPath(import.meta.url);',
  'const __dirname = __llmhDirname(__filename);',
].join('\n');

const tmp = `${outfile}.tmp-${process.pid}`;
mkdirSync(dirname(outfile), { recursive: true });
let result;
try {
  result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: banner },
    external: OPTIONAL_EXTERNAL,
    plugins: [versionPlugin, guardPlugin],
    // one file: dynamic imports of the command modules are inlined, no chunks
    splitting: false,
    sourcemap: false,
    minify: false,
    keepNames: true,
    legalComments: 'eof',
    logLevel: 'silent',
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
  });
} catch (err) {
  rmSync(tmp, { force: true });
  const messages = err && Array.isArray(err.errors) && err.errors.length
    ? (await esbuild.formatMessages(err.errors, { kind: 'error', color: false })).join('')
    : String(err?.stack ?? err);
  fail(messages);
}

for (const w of await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false })) process.stderr.write(w);

// pino's worker-thread transports (pino.transport, thread-stream) load files by path at run
// time and so cannot work from a bundle; shared/logger.ts uses pino.destination and
// pino.multistream only. Refuse a bundle whose own code started calling pino.transport.
const ownInputs = Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules') && !p.startsWith('llm-health-version:'));
for (const input of ownInputs) {
  const text = readFileSync(join(root, input), 'utf8');
  if (/\bpino\.transport\s*\(|\btransport\s*:\s*\{\s*targets?\s*:/.test(text)) {
    rmSync(tmp, { force: true });
    fail(`${input} uses a pino worker-thread transport, which cannot run from the one-file agent; use pino.destination / pino.multistream (shared/logger.ts)`);
  }
  // files next to the module do not exist next to the bundle (cli/version.ts is inlined above)
  if (/\bimport\.meta\.(url|dirname|filename)\b/.test(text)) {
    process.stderr.write(`bundle-agent: warning: ${input} uses import.meta; in the one-file agent it points at ${relative(root, outfile)}, so files read relative to it will be missing\n`);
  }
}

renameSync(tmp, outfile);
chmodSync(outfile, 0o755);
const bytes = statSync(outfile).size;
const pkgs = new Set(
  Object.keys(result.metafile.inputs)
    .map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1])
    .filter(Boolean),
);
process.stdout.write(
  `bundle-agent: ${relative(root, outfile)} ${(bytes / 1024).toFixed(0)} KiB (${ownInputs.length} project modules; packages: ${[...pkgs].sort().join(', ')})\n`,
);
