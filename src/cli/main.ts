import { ConfigError, parseConfig, readEnvironment, type Config } from '../core/config.js';
import { AppError } from '../core/errors.js';
import { UsageError } from './io.js';

export type Command = (config: Readonly<Config>, argv: string[]) => Promise<number | void>;

const HELP = `switchboard — multi-tenant WhatsApp gateway

Usage: switchboard <command> [options]     (from the repo: npm run -s switchboard -- <command>)

  start [--port N] [--demo]     serve HTTP and run the workers (embedded PostgreSQL when DATABASE_URL is unset)
  serve [--port N]              HTTP only (API, webhooks, docs)
  work                          workers only (delivery scheduler, event delivery)
  migrate                       apply database migrations
  doctor                        check config, database, role privileges and row-level security
  superadmin create --email E [--password P] [--name N] [--json]
  superadmin key [--name N] [--expires-in-days D] [--json]   create a superadmin API key (shown once)
  superadmin keys [--json]                    list superadmin keys (hint, expiry, revoked, last used)
  superadmin key revoke ID [--json]           revoke a superadmin key
  tenants create --slug S --name N [--plan P] [--json]
  tenants list [--json]
  tenants suspend|activate <slug|id>
  keys create --tenant <slug|id> [--name N] [--scopes a,b] [--mode live|test] [--json]
  keys revoke --tenant <slug|id> <key_id>
  channels list --tenant <slug|id> [--json]
  channels add --tenant <slug|id> --provider P --name N --credentials '<json>'|@FILE|- [--json]
                                (@FILE or - for stdin keeps secrets out of ps and shell history)
  vault rotate                  re-encrypt every secret under MASTER_KEY (old keys in MASTER_KEY_PREVIOUS)
  simulate <cloud-api|waha|ultramsg|sandbox> [--port N] [--webhook-url U]   a provider simulator with a ready line

Configuration comes from the environment and ./.env; see docs/configuration.md.`;

// Loaded on demand: `help` or a one-shot command does not pay for compiling the whole server.
const server = (name: string) => async () => (await import('./server.js')).serverCommands[name]!;
const admin = (name: string) => async () => (await import('./admin.js')).adminCommands[name]!;
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: server('start'),
  serve: server('serve'),
  work: server('work'),
  migrate: server('migrate'),
  ...Object.fromEntries(
    ['superadmin create', 'superadmin key', 'superadmin keys', 'superadmin key revoke', 'tenants create', 'tenants list', 'tenants suspend', 'tenants activate', 'keys create', 'keys revoke', 'channels list', 'channels add'].map((n) => [n, admin(n)]),
  ),
  doctor: async () => (await import('./doctor.js')).doctor,
  'vault rotate': async () => (await import('./vault.js')).vaultRotate,
  simulate: async () => (await import('./simulate.js')).simulate,
};

export async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (!first || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(HELP + '\n');
    return first ? 0 : 1;
  }
  const two = `${first} ${second ?? ''}`;
  const three = `${two} ${argv[2] ?? ''}`;
  const [name, rest] = COMMANDS[three] ? [three, argv.slice(3)] : COMMANDS[two] ? [two, argv.slice(2)] : [first, argv.slice(1)];
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`unknown command "${argv.join(' ')}"\n\n${HELP}\n`);
    return 2;
  }
  let config: Readonly<Config>;
  try {
    config = parseConfig(readEnvironment());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  try {
    const command = await load();
    return (await command(config, rest)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n(see: switchboard help)\n`);
      return 2;
    }
    if (err instanceof AppError) {
      process.stderr.write(`error (${err.code}): ${err.message}\n`);
      const errors = err.details?.errors;
      if (Array.isArray(errors)) for (const e of errors) process.stderr.write(`  ${JSON.stringify(e)}\n`);
      return 1;
    }
    throw err;
  }
}

/**
 * The one line to print for an error no command turned into a message: the database or the vault
 * refusing is an operator's problem to fix, not a stack trace to read. Anything else is a bug: its
 * stack helps.
 */
function describeFailure(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  const message = String(e?.message ?? err);
  if (e?.name === 'VaultError') return `vault: ${message}${message.includes('MASTER_KEY') ? '' : ' (check MASTER_KEY / MASTER_KEY_PREVIOUS)'}`;
  const db: Record<string, string> = {
    ECONNREFUSED: 'the database is not reachable',
    ENOTFOUND: 'the database host is unknown',
    ETIMEDOUT: 'the database did not answer',
    '28P01': 'the database refused the password',
    '28000': 'the database refused the role',
    '3D000': 'the database does not exist',
  };
  const why = typeof e?.code === 'string' ? db[e.code] : undefined;
  if (why) return `${why}: ${message}\n(check DATABASE_URL / APP_DATABASE_URL; \`switchboard migrate\` creates the app role; \`switchboard doctor\` checks the set-up)`;
  if (e?.code === 'EADDRINUSE') return `${message}: the port is taken (choose another with --port)`;
  return err instanceof Error ? (err.stack ?? message) : message;
}

/** Exits once what was written has left: stdout to a pipe is written asynchronously, and a bare exit cut it at 64 KiB. */
function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(
  // Long-running commands (start/serve/work) never resolve; one-shots exit here.
  (code) => exitAfterOutput(code),
  (err) => {
    process.stderr.write(`${describeFailure(err)}\n`);
    exitAfterOutput(1);
  },
);
