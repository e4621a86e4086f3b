// Auth area: login (lookup + bcrypt), JWT pairs and validation, sessions, cached authorization.
import { clock } from "./clock";
import { type CsCollection, type CsDatabase, type Doc, type Library, hasSource, importSource, memoryDatabase }
  from "./library";
import { type Adapter, cached, check, type OpContext, type OpSpec, paramInt, type Params, paramString, verify } from "./ops";
import { usage } from "./protocol";
import { Rng } from "./rng";

/**
 * `settings` picks a config of the commit's src/auth/config/defaults.ts: "production" is
 * DEFAULT_AUTH_CONFIG (bcrypt 12 rounds, ES256 JWTs), "test" is TEST_AUTH_CONFIG (4 rounds, HS256).
 */
const SETTINGS: Record<string, string> = { production: "DEFAULT_AUTH_CONFIG", test: "TEST_AUTH_CONFIG" };
const USERS = 20; // default users per fixture: each costs one bcrypt hash at the settings' rounds
const USER_SEED = 0;
const HASH_PARALLEL = 4; // createUser calls in flight while building a fixture (libuv pool size)
const WRONG_PASSWORD_EVERY = 100; // login checks a wrong password on the 1st and every 100th op
export const CONTEXT = { ip: "203.0.113.7", userAgent: "csbench", timestamp: 0 };
/** Resources × actions whose authorization results the authorize_cached fixture caches. */
const RESOURCES = [
  { type: "collection", collection: "orders" },
  { type: "document", collection: "orders", documentId: "o-1" },
  { type: "collection", collection: "invoices" },
];
const ACTIONS = ["read", "write"];
/**
 * The library ships no authorization config: this is its own test config
 * (auth/authorization/tests/AuthorizationEngine.test.ts) with a 1 h cache TTL, so cached
 * entries outlive any run.
 */
const AUTHZ_CONFIG = {
  rbac: { enabled: true, strictMode: false, inheritanceEnabled: true, defaultDeny: false },
  abac: {
    enabled: true,
    attributeEngine: "computed-attributes",
    contextAttributes: ["accessLevel", "lastActivity"],
    defaultDeny: false,
  },
  cache: { enabled: true, ttl: 3600, maxSize: 1000, strategy: "lru", cleanupInterval: 60 },
  rules: {
    enabled: true,
    sandbox: { allowedModules: [], networkAccess: false, fileSystemAccess: false, timeout: 5000 },
    maxExecutionTime: 5000,
    maxMemoryUsage: 10 * 1024 * 1024,
  },
  policies: { enabled: true, defaultPolicy: "deny", policyEvaluationOrder: ["rbac", "abac", "dynamic_rules", "policy"] },
};

// The slice of the auth API the auth ops and the auth load ops (load_auth.ts) use
// (src/auth/core, src/auth/authorization).
export type User = Doc & { id: string; email: string };
interface AuthConfig {
  password: Doc;
  jwt: Doc & { algorithm: string; privateKey?: string; secret?: string };
  session: { ttl: number; maxConcurrentSessions: number };
}
export interface UserManager {
  createUser(data: Doc): Promise<User>;
  getUserByEmail(email: string): Promise<User | undefined>;
  verifyPassword(userId: string, password: string): Promise<boolean>;
}
export interface TokenPair {
  accessToken?: string;
  refreshToken?: string;
  tokenType?: string;
  accessTokenExpiresAt?: Date;
}
export interface TokenValidation {
  valid: boolean;
  reason?: string;
  session?: Doc;
}
export interface TokenManager {
  generateTokenPair(user: User, context?: Doc): Promise<TokenPair>;
  validateAccessToken(token: string): Promise<TokenValidation>;
  refreshAccessToken(refreshToken: string): Promise<TokenPair>;
  terminateSession(sessionId: string): Promise<void>;
}
interface Session extends Doc {
  id: string;
  userId: string;
  isActive: boolean;
}
interface SessionManager {
  getSessionPolicy(): Promise<Doc>;
  setSessionPolicy(policy: Doc): Promise<void>;
  createSession(data: Doc, context: Doc): Promise<Session>;
  getSessionById(id: string): Promise<Session | null>;
  validateSession(id: string, context: Doc): Promise<{ valid: boolean; reason?: string; session?: Session }>;
}
interface AuthorizationResult {
  allowed: boolean;
  cacheHit?: boolean;
  reason?: string;
}
interface AuthorizationEngine {
  checkPermission(user: User, resource: Doc, action: string, context: Doc): Promise<AuthorizationResult>;
}
interface AuthorizationModule {
  AuthorizationEngine: new (db: CsDatabase, config: Doc) => AuthorizationEngine;
}
export interface AuthModules {
  core: {
    UserManager: new (db: CsDatabase, cfg: Doc) => UserManager;
    TokenManager: new (db: CsDatabase, cfg: Doc) => TokenManager;
    SessionManager: new (db: CsDatabase) => SessionManager;
  };
  defaults: Record<string, unknown> & { generateJWTKeys(algorithm: string): Doc };
}

// Under the tree's src/.
const CORE = "auth/core/index.ts";
const DEFAULTS = "auth/config/defaults.ts";
const AUTHZ = "auth/authorization/core/AuthorizationEngine.ts";

export async function modules(library: Library): Promise<AuthModules> {
  const [core, defaults] = await Promise.all([
    importSource<AuthModules["core"]>(library, CORE),
    importSource<AuthModules["defaults"]>(library, DEFAULTS),
  ]);
  return { core, defaults };
}

/** The settings' config; JWT keys are generated (untimed) if the module left them out (NODE_ENV=production). */
export function authConfig(mods: AuthModules, settings: string): AuthConfig {
  const cfg = mods.defaults[SETTINGS[settings]!] as AuthConfig;
  if (cfg.jwt.privateKey || cfg.jwt.secret) return cfg;
  return { ...cfg, jwt: { ...cfg.jwt, ...mods.defaults.generateJWTKeys(cfg.jwt.algorithm) } };
}

type Removable = CsCollection & { remove(query: Doc): Promise<unknown> };

/**
 * Ids of every document of a database: `restore` removes what an op added, so fixtures keep
 * their size (every lookup here is a full scan). It removes by query, not removeWithId:
 * documents stored with Collection.save() (sessions, security events, audit entries) are not
 * found by id.
 */
class Baseline {
  private constructor(
    private readonly db: CsDatabase,
    private readonly ids: Map<string, Set<unknown>>,
  ) {}

  private static collections(db: CsDatabase): Map<string, Removable> {
    const map = (db as unknown as { collections?: unknown }).collections;
    if (!(map instanceof Map)) throw new Error("CSDatabase has no collections map: cannot restore auth fixtures");
    return map as Map<string, Removable>;
  }

  static async take(db: CsDatabase): Promise<Baseline> {
    const ids = new Map<string, Set<unknown>>();
    for (const [name, col] of Baseline.collections(db)) {
      ids.set(name, new Set((await col.find({})).map((d) => d[col.id ?? "id"])));
    }
    return new Baseline(db, ids);
  }

  async restore(op: string, input: unknown): Promise<void> {
    for (const [name, col] of Baseline.collections(this.db)) {
      const key = col.id ?? "id";
      const keep = this.ids.get(name) ?? new Set();
      const docs = await verify(op, input, `${name}.find (restore)`, () => col.find({}));
      const extra = docs.filter((d) => !keep.has(d[key]));
      if (!extra.length) continue;
      for (const doc of extra) await verify(op, input, `${name}.remove (restore)`, () => col.remove({ [key]: doc[key] }));
      const left = (await verify(op, input, `${name}.find (restore)`, () => col.find({}))).length;
      check(left === keep.size, op, { ...(input as Doc), restore: name }, { documents: keep.size }, { documents: left });
    }
  }
}

/** A user UserManager.createUser made, with the password it was made with. */
export interface Account {
  email: string;
  password: string;
  user: User;
}

/** What createUser is given for a new account. */
export type AccountSpec = { email: string; password: string; roles: string[] };

/** createUser of every spec, HASH_PARALLEL at a time (each costs a bcrypt hash); accounts in spec order. */
export async function createAccounts(manager: UserManager, specs: AccountSpec[]): Promise<Account[]> {
  const accounts: Account[] = [];
  for (let i = 0; i < specs.length; i += HASH_PARALLEL) {
    const batch = specs.slice(i, i + HASH_PARALLEL);
    const created = await Promise.all(batch.map((s) => manager.createUser(s)));
    created.forEach((user, j) => accounts.push({ email: batch[j]!.email, password: batch[j]!.password, user }));
  }
  return accounts;
}

interface Users {
  mods: AuthModules;
  cfg: AuthConfig;
  manager: UserManager;
  accounts: Account[];
  logins: number;
}

/** A password that every settings' policy accepts (upper, lower, digit, special; 12-20 chars). */
export function password(rng: Rng): string {
  const classes = ["ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789", "!#$%&*+-=?@^_~"];
  const all = classes.join("");
  const chars = classes.map((c) => c[rng.int(c.length)]);
  for (let n = 8 + rng.int(9); n > 0; n--) chars.push(all[rng.int(all.length)]);
  return chars.join("");
}

interface Tokens {
  manager: TokenManager;
  baseline: Baseline;
}

interface Sessions {
  manager: SessionManager;
  sessions: Session[];
  baseline: Baseline;
}

interface Authz {
  engine: AuthorizationEngine;
  /** Each cached request with the result of its first (uncached) check. */
  requests: Array<{ account: Account; resource: Doc; action: string; allowed: boolean }>;
  baseline: Baseline;
}

// Fixtures, built untimed on first use, keyed by the JSON of the params that shape them.
const usersFixtures = new Map<string, Promise<Users>>();
const tokenFixtures = new Map<string, Promise<Tokens>>();
const sessionFixtures = new Map<string, Promise<Sessions>>();
const authzFixtures = new Map<string, Promise<Authz>>();

function shape(params: Params): { settings: string; users: number } {
  return { settings: paramString(params, "settings", "production"), users: paramInt(params, "users", USERS) };
}

/** `users` accounts created through UserManager.createUser with the settings' password config. */
function users(library: Library, params: Params): Promise<Users> {
  const key = shape(params);
  return cached(usersFixtures, key, async () => {
    const mods = await modules(library);
    const cfg = authConfig(mods, key.settings);
    const manager = new mods.core.UserManager(await memoryDatabase(library, "csbench_auth_users"), cfg.password);
    const rng = new Rng(USER_SEED);
    const specs = Array.from({ length: key.users }, (_, i) => ({
      email: `user${i}@example.org`,
      password: password(rng),
      roles: ["user", ...(rng.next() < 0.1 ? ["editor"] : []), ...(rng.next() < 0.02 ? ["admin"] : [])],
    }));
    const accounts = await createAccounts(manager, specs);
    return { mods, cfg, manager, accounts, logins: 0 };
  });
}

/** A TokenManager on its own database, one token pair per user already issued. */
function tokens(library: Library, params: Params): Promise<Tokens> {
  return cached(tokenFixtures, shape(params), async () => {
    const { mods, cfg, accounts } = await users(library, params);
    const db = await memoryDatabase(library, "csbench_auth_tokens");
    const manager = new mods.core.TokenManager(db, cfg.jwt);
    for (const a of accounts) await manager.generateTokenPair(a.user);
    return { manager, baseline: await Baseline.take(db) };
  });
}

/**
 * A SessionManager on its own database, one session per user. Policy: the settings' session
 * ttl and concurrent-session limit; requireSecureConnection off, because the library tests
 * context.ip for an "https://" prefix, which no client address has.
 */
function sessions(library: Library, params: Params): Promise<Sessions> {
  return cached(sessionFixtures, shape(params), async () => {
    const { mods, cfg, accounts } = await users(library, params);
    const db = await memoryDatabase(library, "csbench_auth_sessions");
    const manager = new mods.core.SessionManager(db);
    await manager.setSessionPolicy({
      ...(await manager.getSessionPolicy()),
      sessionTimeout: cfg.session.ttl,
      maxConcurrentSessions: cfg.session.maxConcurrentSessions,
      requireSecureConnection: false,
    });
    const list: Session[] = [];
    for (const a of accounts) list.push(await manager.createSession(sessionData(a), CONTEXT));
    return { manager, sessions: list, baseline: await Baseline.take(db) };
  });
}

/** An AuthorizationEngine whose cache holds every user × RESOURCES × ACTIONS result. */
function authz(library: Library, params: Params): Promise<Authz> {
  return cached(authzFixtures, shape(params), async () => {
    const { accounts } = await users(library, params);
    const { AuthorizationEngine } = await importSource<AuthorizationModule>(library, AUTHZ);
    const db = await memoryDatabase(library, "csbench_auth_authz");
    const engine = new AuthorizationEngine(db, AUTHZ_CONFIG);
    const requests: Authz["requests"] = [];
    for (const account of accounts) {
      for (const resource of RESOURCES) {
        for (const action of ACTIONS) {
          const { allowed } = await engine.checkPermission(account.user, resource, action, CONTEXT);
          requests.push({ account, resource, action, allowed });
        }
      }
    }
    return { engine, requests, baseline: await Baseline.take(db) };
  });
}

function sessionData(a: Account): Doc {
  return { userId: a.user.id, ipAddress: CONTEXT.ip, userAgent: CONTEXT.userAgent };
}

function op(step: OpSpec["step"], requires: string[] = ["database", "auth"]): OpSpec {
  return {
    requires,
    needsDataset: false,
    validate({ params }: OpContext) {
      const { settings } = shape(params);
      const known = Object.keys(SETTINGS).join(", ");
      if (!SETTINGS[settings]) throw usage(`param "settings" must be one of ${known}, not "${settings}"`);
    },
    step,
  };
}

/** Login = getUserByEmail + verifyPassword (there is no login()); both calls are timed as one op. */
const login = op(async ({ library, rng, params }) => {
  const fixture = await users(library, params);
  const { manager } = fixture;
  const { email, password: pw } = rng.pick(fixture.accounts);
  const t0 = clock.start();
  const user = await manager.getUserByEmail(email);
  const ok = user ? await manager.verifyPassword(user.id, pw) : false;
  clock.stop(t0);
  check(user?.email === email && ok === true, "auth_login", { email }, { email, verified: true },
    { email: user?.email ?? null, verified: ok });
  if (fixture.logins++ % WRONG_PASSWORD_EVERY === 0) {
    const wrong = await verify("auth_login", { email }, "verifyPassword(wrong password)",
      () => manager.verifyPassword(user!.id, `${pw}x`));
    check(wrong === false, "auth_login", { email, password: "wrong" }, { verified: false }, { verified: wrong });
  }
});

const tokenPair = op(async ({ library, rng, params }) => {
  const { manager, baseline } = await tokens(library, params);
  const { user } = rng.pick((await users(library, params)).accounts);
  const t0 = clock.start();
  const pair = await manager.generateTokenPair(user);
  clock.stop(t0);
  const present = (token: unknown) => typeof token === "string" && token.length > 0;
  const ok = present(pair?.accessToken) && present(pair?.refreshToken);
  check(ok, "auth_token_pair", { user: user.id }, { accessToken: "string", refreshToken: "string" },
    { accessToken: typeof pair?.accessToken, refreshToken: typeof pair?.refreshToken });
  await baseline.restore("auth_token_pair", { user: user.id });
});

const validateToken = op(async ({ library, rng, params }) => {
  const { manager, baseline } = await tokens(library, params);
  const { user } = rng.pick((await users(library, params)).accounts);
  const pair = await verify("auth_validate_token", { user: user.id }, "generateTokenPair",
    () => manager.generateTokenPair(user));
  const t0 = clock.start();
  const result = await manager.validateAccessToken(pair.accessToken!);
  clock.stop(t0);
  check(result?.valid === true && result.session?.userId === user.id, "auth_validate_token", { user: user.id },
    { valid: true, userId: user.id },
    { valid: result?.valid ?? null, userId: result?.session?.userId ?? null, reason: result?.reason ?? null });
  await baseline.restore("auth_validate_token", { user: user.id });
});

const sessionCreate = op(async ({ library, rng, params }) => {
  const { manager, baseline } = await sessions(library, params);
  const account = rng.pick((await users(library, params)).accounts);
  const input = { user: account.user.id };
  const data = sessionData(account);
  const t0 = clock.start();
  const session = await manager.createSession(data, CONTEXT);
  clock.stop(t0);
  check(session?.userId === account.user.id && session.isActive === true, "auth_session_create", input,
    { userId: account.user.id, isActive: true },
    { userId: session?.userId ?? null, isActive: session?.isActive ?? null });
  const stored = await verify("auth_session_create", input, "getSessionById",
    () => manager.getSessionById(session.id));
  check(stored?.userId === account.user.id, "auth_session_create", { ...input, session: session.id },
    { stored: account.user.id }, { stored: stored?.userId ?? null });
  await baseline.restore("auth_session_create", input);
});

const sessionValidate = op(async ({ library, rng, params }) => {
  const { manager, sessions: list, baseline } = await sessions(library, params);
  const session = rng.pick(list);
  const input = { session: session.id };
  const t0 = clock.start();
  const result = await manager.validateSession(session.id, CONTEXT);
  clock.stop(t0);
  check(result?.valid === true && result.session?.userId === session.userId, "auth_session_validate", input,
    { valid: true, userId: session.userId },
    { valid: result?.valid ?? null, userId: result?.session?.userId ?? null, reason: result?.reason ?? null });
  await baseline.restore("auth_session_validate", input);
});

/** AuthorizationEngine.checkPermission answered from its permission cache (warmed untimed). */
const authorizeCached = op(async ({ library, rng, params }) => {
  const { engine, requests, baseline } = await authz(library, params);
  const { account, resource, action, allowed } = rng.pick(requests);
  const input = { user: account.user.id, resource, action };
  const t0 = clock.start();
  const result = await engine.checkPermission(account.user, resource, action, CONTEXT);
  clock.stop(t0);
  check(result?.cacheHit === true && result.allowed === allowed, "auth_authorize_cached", input,
    { cacheHit: true, allowed },
    { cacheHit: result?.cacheHit ?? null, allowed: result?.allowed ?? null, reason: result?.reason ?? null });
  await baseline.restore("auth_authorize_cached", input);
}, ["database", "auth", "auth_authz_cache"]);

export const authAdapter: Adapter = {
  area: "auth",
  ops: {
    auth_login: login,
    auth_token_pair: tokenPair,
    auth_validate_token: validateToken,
    auth_session_create: sessionCreate,
    auth_session_validate: sessionValidate,
    auth_authorize_cached: authorizeCached,
  },
  detect(library: Library) {
    const has = (rel: string) => hasSource(library, rel);
    return { auth: has(CORE) && has(DEFAULTS), auth_authz_cache: has(AUTHZ) };
  },
};
