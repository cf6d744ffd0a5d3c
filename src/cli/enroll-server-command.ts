/**
 * `p2psip enroll-server`: the enrollment and configuration server of an enrolled overlay
 * (RFC 6940 §11.1–§11.3). Serves the signed configuration document at
 * /.well-known/reload-config and issues certificates at POST /enroll.
 *
 * Users file (--users): one account per line, `name:password` or `name:scrypt$N$r$p$salt$hash`
 * (hashPassword of src/reload/security); `#` comments and blank lines ignored. An account
 * without @domain gets the user name `name@<overlay>` in its certificate.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { isIpLiteral, hostForUri } from '../lib/ip.js';
import { ConfigError, parseHostPort } from '../node/peer-config.js';
import { CryptoRandom } from '../platform/crypto-random.js';
import { loadOrCreateEnrollmentState, readTextFile, saveAssignments, saveServedDocument } from '../platform/enrollment-data-dir.js';
import { ENROLL_PATH, WELL_KNOWN_CONFIG_PATH, startEnrollmentServer } from '../platform/enrollment-server.js';
import { EnrollmentDigestTable, SIP_DIGEST_PATH, digestSecretsFromUsers } from '../platform/enrollment-digest.js';
import { defaultLanConfiguration, signOverlayConfiguration } from '../reload/config/index.js';
import type { BootstrapNode, OverlayConfiguration } from '../reload/config/index.js';
import {
  EnrollmentAuthority,
  certificateToPem,
  isPasswordHash,
  issueTlsServerCertificate,
  parseUserTable,
  privateKeyToPem,
  readCertificateInfo,
  toHex,
} from '../reload/security/index.js';
import type { NodeKeyAlgorithm, UserTable } from '../reload/security/index.js';

export interface EnrollServerOptions {
  overlay: string;
  listen: string;
  dataDir?: string;
  users: string;
  tlsCert?: string;
  tlsKey?: string;
  bootstrap?: string;
  selfSignedPermitted?: boolean;
  publicUrl?: string;
  maxNodeIds: string;
  keyAlgorithm: NodeKeyAlgorithm;
  /** Issue 15: check SIP digest answers against the users file (peers then challenge their phones). */
  sipDigest?: boolean;
}

export interface RunningEnrollServer {
  url: string;
  configUrl: string;
  close(): Promise<void>;
}

/** Registers `enroll-server` on `program`; the action runs until SIGINT/SIGTERM. */
export function registerEnrollServerCommand(program: Command, print: (line: string) => void = (l) => console.log(l)): Command {
  return program
    .command('enroll-server')
    .description('enrollment + configuration server for an enrolled overlay (RFC 6940 §11.3)')
    .option('--overlay <name>', 'overlay name (instance-name of the document)', 'p2psip.local')
    .option('--listen <host:port>', 'HTTPS address (port 0 = any free port)', '127.0.0.1:8443')
    .option('--data-dir <dir>', 'CA, signer and Node-ID assignments (default ~/.p2psip/enroll-<overlay>)')
    .requiredOption('--users <file>', 'accounts, one `name:password` or `name:scrypt$...` per line')
    .option('--tls-cert <file>', 'PEM certificate of the HTTPS server (default: one issued by the overlay CA)')
    .option('--tls-key <file>', 'PEM key of --tls-cert')
    .option('--bootstrap <host:port,...>', 'bootstrap-node entries of the document')
    .option('--self-signed-permitted', 'also let peers use self-signed certificates')
    .option('--public-url <url>', 'https URL peers reach this server at (default https://<listen>)')
    .option('--max-node-ids <n>', 'Node-IDs one user may ask for', '4')
    .option('--sip-digest', "peers challenge their phones (SIP digest) and this server checks the answers against --users (name:password lines only: an scrypt line has no digest secret)")
    .addOption(new Option('--key-algorithm <alg>', 'CA and signer keys').choices(['rsa-2048', 'ecdsa-p256']).default('rsa-2048'))
    .action(async (o: EnrollServerOptions) => {
      const running = await runEnrollServer(o, print);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void running.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

function parseBootstrap(list: string | undefined): BootstrapNode[] {
  if (list === undefined || list.trim() === '') return [];
  return list.split(',').map((s) => {
    const hp = parseHostPort(s.trim(), '--bootstrap');
    if (!isIpLiteral(hp.host)) throw new ConfigError(`--bootstrap: ${hp.host} must be an IP address (RFC 6940 §11.1 bootstrap-node)`);
    return { address: hp.host, port: hp.port };
  });
}

/** Starts the server from command-line options; prints where the document is and how peers use it. */
export async function runEnrollServer(o: EnrollServerOptions, print: (line: string) => void): Promise<RunningEnrollServer> {
  const listen = parseHostPort(o.listen, '--listen');
  const maxNodeIds = Number(o.maxNodeIds);
  if (!Number.isInteger(maxNodeIds) || maxNodeIds < 1 || maxNodeIds > 16) throw new ConfigError('--max-node-ids: an integer 1..16');
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new ConfigError('--tls-cert and --tls-key go together');
  if (o.publicUrl !== undefined && !/^https:\/\/[^\s/]+/.test(o.publicUrl)) throw new ConfigError('--public-url must be an https: URL');
  const bootstrapNodes = parseBootstrap(o.bootstrap);
  const random = new CryptoRandom();
  let usersText: string;
  try {
    usersText = await readTextFile(o.users);
  } catch (e) {
    throw new ConfigError(`--users: cannot read ${o.users}: ${(e as Error).message}`);
  }
  let users: UserTable;
  try {
    users = parseUserTable(usersText, random);
  } catch (e) {
    throw new ConfigError(`--users ${o.users}: ${(e as Error).message}`);
  }
  const dataDir = o.dataDir ?? join(homedir(), '.p2psip', `enroll-${o.overlay}`);
  const state = await loadOrCreateEnrollmentState(dataDir, { overlay: o.overlay, now: Date.now(), random, algorithm: o.keyAlgorithm });
  let tlsCertificate: string;
  let tlsKey: string;
  if (o.tlsCert !== undefined && o.tlsKey !== undefined) {
    tlsCertificate = await readTextFile(o.tlsCert);
    tlsKey = await readTextFile(o.tlsKey);
  } else {
    const hosts = [...new Set([listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host, 'localhost', '127.0.0.1'])];
    const tls = await issueTlsServerCertificate(state.ca, { hosts, now: Date.now(), random, algorithm: 'ecdsa-p256' });
    tlsCertificate = certificateToPem(tls.certificate);
    tlsKey = privateKeyToPem(tls.keys.privateKey);
  }
  // issue 15: HA1s of the name:password lines (realm = the overlay), for POST /sip-digest
  const sipDigest = o.sipDigest === true ? new EnrollmentDigestTable(digestSecretsFromUsers(usersText, o.overlay, isPasswordHash), { realm: o.overlay }) : undefined;
  const authority = new EnrollmentAuthority({ overlay: o.overlay, ca: state.ca, users, random, maxNodeIdsPerUser: maxNodeIds, assignments: state.assignments });
  let document = '';
  const server = await startEnrollmentServer({
    host: listen.host,
    port: listen.port,
    tlsCertificate,
    tlsKey,
    authority,
    configurationDocument: () => document,
    now: () => Date.now(),
    ...(sipDigest === undefined ? {} : { sipDigest }),
    onEnrollment: (e) => {
      print(`enrollment ${e.ok ? 'issued' : 'refused'}: ${e.username} ${e.detail}`);
      if (e.ok) void saveAssignments(dataDir, authority.assignments).catch((err: unknown) => print(`cannot save node-ids.json: ${String(err)}`));
    },
  });
  const shownHost = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  const base = (o.publicUrl ?? `https://${hostForUri(shownHost)}:${server.port}`).replace(/\/+$/, '');
  const signerHex = toHex(state.signer.certificate.nodeIds[0]!);
  // issue 15: enrolled overlays keep USER-NODE-MATCH (the certificate's user name); no user directory
  const lan = defaultLanConfiguration(o.overlay, 'open');
  const config: OverlayConfiguration = {
    ...lan,
    // enrolled certificates name their users: the RFC's access rules, no proxy-peer writes
    kinds: lan.kinds.map(({ proxyPeerWrites: _relaxed, ...k }) => k),
    sequence: state.sequence,
    rootCertificates: [state.ca.certificate],
    enrollmentServers: [`${base}${ENROLL_PATH}`],
    selfSignedPermitted: o.selfSignedPermitted === true,
    bootstrapNodes,
    configurationSigners: [signerHex],
    kindSigners: [signerHex],
    ...(sipDigest === undefined ? {} : { sipDigestVerifier: `${base}${SIP_DIGEST_PATH}` }),
  };
  document = signOverlayConfiguration(config, state.signer);
  await saveServedDocument(dataDir, document);
  const caFile = join(dataDir, 'ca.pem');
  const configUrl = `${base}${WELL_KNOWN_CONFIG_PATH}`;
  print(`enroll-server listening on https://${hostForUri(listen.host)}:${server.port} (overlay ${o.overlay}, ${users.size} account(s))`);
  print(`configuration document: ${configUrl}`);
  print(`enrollment: POST ${base}${ENROLL_PATH}`);
  if (sipDigest !== undefined) print(`SIP digest answers checked at POST ${base}${SIP_DIGEST_PATH} (${sipDigest.users} account(s) with a digest secret)`);
  print(`overlay CA certificate${state.createdCa ? ' (new)' : ''}: ${caFile} sha256 ${readCertificateInfo(state.ca.certificate).fingerprint}`);
  print(`peers join with: p2psip up --overlay ${o.overlay} --config ${configUrl} (give them ${caFile} as the HTTPS trust anchor)`);
  return {
    url: base,
    configUrl,
    close: async () => {
      await server.close();
      await saveAssignments(dataDir, authority.assignments);
    },
  };
}
