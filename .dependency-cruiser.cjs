/**
 * The layering rules of docs/architecture.md, enforced: a wrong import fails `npm test`.
 * Dependencies point down; sip/ and reload/ never meet except in usages/ and node/;
 * protocol code never touches node's I/O modules (only platform/ does).
 */
const IO_MODULES = '^(node:)?(dgram|net|tls|http|https|http2|fs|fs/promises|dns|dns/promises|child_process|cluster|worker_threads|timers|timers/promises|readline)$';
const PROTOCOL = '^src/(lib|sip|reload|nat|usages|sim|media)/';

module.exports = {
  forbidden: [
    { name: 'lib-imports-nothing-of-ours', severity: 'error', from: { path: '^src/lib/' }, to: { path: '^src/(?!lib/)' } },
    { name: 'sip-not-reload', severity: 'error', from: { path: '^src/sip/' }, to: { path: '^src/(reload|usages|node|cli|dashboard|nat|platform|sim)/' } },
    { name: 'reload-not-sip', severity: 'error', from: { path: '^src/reload/' }, to: { path: '^src/(sip|usages|node|cli|dashboard|platform|sim)/' } },
    { name: 'nat-below-usages', severity: 'error', from: { path: '^src/nat/' }, to: { path: '^src/(sip|reload|usages|node|cli|dashboard|platform|sim)/' } },
    { name: 'media-below-usages', severity: 'error', from: { path: '^src/media/' }, to: { path: '^src/(reload|nat|usages|node|cli|dashboard|platform|sim)/' } },
    { name: 'usages-below-node', severity: 'error', from: { path: '^src/usages/' }, to: { path: '^src/(node|cli|dashboard|platform|sim)/' } },
    { name: 'platform-is-a-leaf-driver', severity: 'error', from: { path: '^src/platform/' }, to: { path: '^src/(node|cli|dashboard|usages|sim)/' } },
    { name: 'sim-is-not-platform', severity: 'error', from: { path: '^src/sim/' }, to: { path: '^src/(platform|node|cli|dashboard)/' } },
    { name: 'node-below-cli', severity: 'error', from: { path: '^src/node/' }, to: { path: '^src/cli/' } },
    { name: 'protocol-code-is-sans-io', severity: 'error', from: { path: PROTOCOL }, to: { dependencyTypes: ['core'], path: IO_MODULES } },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
    { name: 'src-not-to-dev-deps', severity: 'error', from: { path: '^src/' }, to: { dependencyTypes: ['npm-dev'] } },
    // issue 11 seams: storage talks to a StorageHost (storage/storage-host.ts), never to the concrete node
    { name: 'storage-not-to-overlay-node', severity: 'error', from: { path: '^src/reload/storage/' }, to: { path: '^src/reload/overlay/overlay-node\\.ts$' } },
    // the shipped package and the benchmarks never reach into the tests
    { name: 'src-not-to-tests', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench|scripts|harness)/' } },
    { name: 'bench-not-to-tests', severity: 'error', from: { path: '^bench/' }, to: { path: '^test/' } },
    // every module of src/ serves the product: reachable from the command line (or the library entry); a
    // module only tests import belongs in test/support
    { name: 'src-reachable-from-entry', severity: 'error', from: { path: '^src/(cli/main|index)\\.ts$' }, to: { path: '^src/', pathNot: '^src/(cli/main|index)\\.ts$', reachable: false } },
    // issue 17: the library API (src/index.ts → src/api/) sits beside the command line, above node/ and
    // platform/: nothing of the product imports it, and it does not import the command line
    { name: 'api-is-a-top-layer', severity: 'error', from: { path: '^src/', pathNot: '^src/(api/|index\\.ts$)' }, to: { path: '^src/(api/|index\\.ts$)' } },
    { name: 'api-not-to-cli', severity: 'error', from: { path: '^src/(api/|index\\.ts$)' }, to: { path: '^src/cli/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
