// Auth load ops: login, token validation, refresh and logout by concurrent users (load_ops.ts).
//
// One fixture per run, shared by the four ops (the pair login issues is the one validate_token
// checks): a CSDatabase(':memory:') holding UserManager's and TokenManager's collections, with
// the commit's production settings, DEFAULT_AUTH_CONFIG (bcrypt 12 rounds, ES256 JWTs, 15 min
// access and 7 day refresh tokens, refresh rotation, revocation, 5 concurrent sessions per user).
//
// Accounts: one per virtual user. Only POOL of them are made by UserManager.createUser (one
// bcrypt hash each, slow at 12 rounds); account i is the stored record of pool account
// i % POOL (same password, hence the same hash) under its own id and email, inserted into
// UserManager's collection. Not users sharing POOL accounts: TokenManager ends an account's
// oldest sessions beyond maxConcurrentSessions, so 1,000 users on 32 accounts would revoke
// each other's tokens and validate_token would fail for reasons of the fixture.
// The stores grow as in an application: every login and refresh adds a session and two token
// records, every refresh and logout revocations; the library scans them on each request.
import { randomBytes } from "node:crypto";
import {
  type Account, CONTEXT, type TokenManager, type TokenPair, type UserManager, authConfig, createAccounts, modules,
  password,
} from "./auth";
import { type Doc, memoryDatabase } from "./library";
import { type LoadEnv, type LoadOp, RunFixtures, type Timed, type VirtualUser } from "./load_ops";
import { check, verify } from "./ops";
import { Rng } from "./rng";

/** Accounts made by createUser; the others copy their records. */
const POOL = 16;
/** A token that expires within this margin is replaced before use, as a client would. */
const EXPIRY_MARGIN_MS = 10_000;
/** Every LOGOUT_CHECK_EVERY-th logout of a run (and the first) checks that the token stopped validating. */
const LOGOUT_CHECK_EVERY = 10;
const STATE = "auth.session";

interface Fixture {
  users: UserManager;
  tokens: TokenManager;
  /** Account of virtual user i at index i. */
  accounts: Account[];
  logouts: number;
}

/** What a signed-in user holds: its token pair and the session the pair belongs to. */
interface Session {
  fixture: Fixture;
  access: string;
  refresh: string;
  sessionId: string;
  /** When the access token expires (ms since the epoch). */
  expiresMs: number;
}

async function build(env: LoadEnv): Promise<Fixture> {
  const mods = await modules(env.library);
  const cfg = authConfig(mods, "production");
  const db = await memoryDatabase(env.library, "csbench_load_auth");
  const users = new mods.core.UserManager(db, cfg.password);
  const tokens = new mods.core.TokenManager(db, cfg.jwt);
  const rng = new Rng(env.seed);
  const n = Math.max(1, env.users);
  const email = (i: number) => `load${i}@example.org`;
  const specs = Array.from({ length: Math.min(POOL, n) }, (_, i) => ({
    email: email(i), password: password(rng), roles: ["user"],
  }));
  const accounts = await createAccounts(users, specs);
  const stored = db.collection("auth_users");
  if (!stored && n > accounts.length) throw new Error("UserManager left no auth_users collection to add accounts to");
  for (let i = accounts.length; i < n; i++) {
    const pooled = accounts[i % POOL]!;
    const now = new Date();
    const user = { ...pooled.user, id: randomBytes(8).toString("hex"), email: email(i), createdAt: now, updatedAt: now,
      passwordChangedAt: now };
    await stored!.create(user);
    accounts.push({ email: user.email, password: pooled.password, user });
  }
  return { users, tokens, accounts, logouts: 0 };
}

const fixtures = new RunFixtures(build);

function accountOf(fx: Fixture, user: VirtualUser): Account {
  return fx.accounts[user.index % fx.accounts.length]!;
}

/** The payload of a JWT (no verification: the library verified it when it issued or validated it). */
function claims(token: string): Doc {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Doc;
}

/** Check an issued pair and keep it as the user's session (replacing any previous one). */
function keep(op: string, fx: Fixture, user: VirtualUser, account: Account, pair: TokenPair | null, old?: Session) {
  const input = { user: user.index, account: account.user.id };
  const access = typeof pair?.accessToken === "string" ? pair.accessToken : "";
  const refresh = typeof pair?.refreshToken === "string" ? pair.refreshToken : "";
  const payload = access ? claims(access) : {};
  const actual = {
    accessToken: access ? "issued" : null,
    refreshToken: refresh ? "issued" : null,
    sub: payload.sub ?? null,
    sid: typeof payload.sid === "string" ? "present" : null,
    fresh: !old || (access !== old.access && refresh !== old.refresh),
  };
  const expected = { accessToken: "issued", refreshToken: "issued", sub: account.user.id, sid: "present", fresh: true };
  check(JSON.stringify(actual) === JSON.stringify(expected), op, input, expected, actual);
  const expiresAt = pair!.accessTokenExpiresAt;
  const expires = expiresAt instanceof Date ? expiresAt.getTime() : Number(payload.exp) * 1000;
  const session: Session = { fixture: fx, access, refresh, sessionId: payload.sid as string, expiresMs: expires };
  user.state.set(STATE, session);
  return session;
}

/**
 * The user's live session; a user without one (never logged in, logged out, or its access
 * token about to expire) gets one untimed, lazily on first use: generateTokenPair, as for a
 * user who signed in before.
 */
async function session(op: string, fx: Fixture, user: VirtualUser): Promise<Session> {
  const s = user.state.get(STATE) as Session | undefined;
  if (s && s.fixture === fx && s.expiresMs - Date.now() > EXPIRY_MARGIN_MS) return s;
  const account = accountOf(fx, user);
  const pair = await verify(op, { user: user.index }, "generateTokenPair (sign in)", () =>
    fx.tokens.generateTokenPair(account.user, CONTEXT));
  return keep(op, fx, user, account, pair);
}

function op(run: (fx: Fixture, user: VirtualUser, timed: Timed) => Promise<void>): LoadOp {
  return fixtures.op(["database", "auth"], run);
}

/** login: getUserByEmail + verifyPassword + generateTokenPair (the pair an app issues), one request. */
const login = op(async (fx, user, timed) => {
  const account = accountOf(fx, user);
  const { found, verified, pair } = await timed(async () => {
    const found = await fx.users.getUserByEmail(account.email);
    const verified = found ? await fx.users.verifyPassword(found.id, account.password) : false;
    const pair = verified ? await fx.tokens.generateTokenPair(found!, CONTEXT) : null;
    return { found, verified, pair };
  });
  check(found?.id === account.user.id && verified === true, "login", { user: user.index, email: account.email },
    { id: account.user.id, verified: true }, { id: found?.id ?? null, verified });
  keep("login", fx, user, account, pair);
});

/** validate_token: TokenManager.validateAccessToken of the user's access token (JWT verify, revocation, session). */
const validateToken = op(async (fx, user, timed) => {
  const s = await session("validate_token", fx, user);
  const userId = accountOf(fx, user).user.id;
  const result = await timed(() => fx.tokens.validateAccessToken(s.access));
  check(result?.valid === true && result.session?.userId === userId, "validate_token",
    { user: user.index, session: s.sessionId }, { valid: true, userId },
    { valid: result?.valid ?? null, userId: result?.session?.userId ?? null, reason: result?.reason ?? null });
});

/** refresh_token: TokenManager.refreshAccessToken (validates, issues a new pair, revokes the old refresh token). */
const refreshToken = op(async (fx, user, timed) => {
  const s = await session("refresh_token", fx, user);
  const pair = await timed(() => fx.tokens.refreshAccessToken(s.refresh));
  keep("refresh_token", fx, user, accountOf(fx, user), pair, s);
});

/** logout: TokenManager.terminateSession (revokes the session's tokens, deactivates it); the user then holds none. */
const logout = op(async (fx, user, timed) => {
  const s = await session("logout", fx, user);
  await timed(() => fx.tokens.terminateSession(s.sessionId));
  user.state.delete(STATE);
  if (fx.logouts++ % LOGOUT_CHECK_EVERY !== 0) return;
  const input = { user: user.index, session: s.sessionId };
  const after = await verify("logout", input, "validateAccessToken (after logout)", () =>
    fx.tokens.validateAccessToken(s.access));
  check(after?.valid === false, "logout", input, { valid: false }, { valid: after?.valid ?? null });
});

export const authLoadOps: Record<string, LoadOp> = {
  login,
  validate_token: validateToken,
  refresh_token: refreshToken,
  logout,
};
