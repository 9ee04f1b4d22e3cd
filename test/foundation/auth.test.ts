import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startTestApp, bearer, type TestApp } from '../support/app.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { ROLE_SCOPES } from '../../src/identity/scopes.js';

const JWT_SECRET = 'test-jwt-secret-0123456789abcdefghijklmnop';
let t: TestApp;
let a: { id: string; slug: string; key: string };
before(async () => {
  t = await startTestApp({ JWT_SECRET });
  a = await t.tenant();
});
after(() => t.close());

async function expectProblem(headers: Record<string, string>, status: number, code: string, url = '/v1/tenant', method = 'GET') {
  const r = await t.app.inject({ method: method as 'GET', url, headers });
  assert.equal(r.statusCode, status, `${code}: ${r.body}`);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  assert.equal(r.json().code, code);
  assert.equal(r.json().status, status);
}

test('no credential → 401', () => expectProblem({}, 401, 'unauthenticated'));
test('wrong checksum → 401 without a database lookup', async () => {
  const good = a.key;
  const last = good.at(-1) === 'a' ? 'b' : 'a';
  await expectProblem(bearer(good.slice(0, -1) + last), 401, 'api_key_malformed');
});
test('well-formed but unknown key → 401', () => expectProblem(bearer(generateApiKey('live').key), 401, 'invalid_credentials'));
test('X-API-Key header works like Bearer', async () => {
  const r = await t.app.inject({ url: '/v1/tenant', headers: { 'x-api-key': a.key } });
  assert.equal(r.statusCode, 200);
});

test('revoked key → 401, expired key → 401', async () => {
  const k = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'short' } })).json();
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(k.key) })).statusCode, 200);
  const del = await t.app.inject({ method: 'DELETE', url: `/v1/api-keys/${k.id}`, headers: bearer(a.key) });
  assert.equal(del.statusCode, 200);
  assert.ok(del.json().revoked_at);
  await expectProblem(bearer(k.key), 401, 'api_key_revoked');
  const e = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'exp', expires_at: new Date(Date.now() + 1500).toISOString() } })).json();
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(e.key) })).statusCode, 200);
  await new Promise((r) => setTimeout(r, 1600));
  await expectProblem(bearer(e.key), 401, 'api_key_expired');
});

test('wrong scope → 403 naming the scope', async () => {
  const k = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(a.key), payload: { name: 'ro', scopes: ['channels:read'] } })).json();
  assert.equal((await t.app.inject({ url: '/v1/channels', headers: bearer(k.key) })).statusCode, 200);
  const r = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(k.key), payload: { name: 'escalate' } });
  assert.equal(r.statusCode, 403);
  assert.equal(r.json().code, 'insufficient_scope');
  assert.equal(r.json().required_scope, 'keys:write');
});

test('a key hands on only the scopes it holds: no `*` or other scope from a keys:write-only key; omitted scopes default to its own', async () => {
  const create = (key: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(key), payload });
  const minter = (await create(a.key, { name: 'minter', scopes: ['keys:write', 'channels:read'] })).json();
  for (const scopes of [['*'], ['conversations:write'], ['channels:read', 'tenant:write']]) {
    const r = await create(minter.key, { name: 'escalate', scopes });
    assert.equal(r.statusCode, 403, `${scopes.join(',')}: ${r.body}`);
    assert.equal(r.json().code, 'insufficient_scope');
    assert.ok(r.json().missing_scopes.length > 0);
  }
  const own = await create(minter.key, { name: 'default' });
  assert.equal(own.statusCode, 201, own.body);
  assert.deepEqual([...own.json().scopes].sort(), ['channels:read', 'keys:write']);
  assert.equal((await t.app.inject({ url: '/v1/conversations', headers: bearer(own.json().key) })).statusCode, 403);
  const narrower = await create(minter.key, { name: 'narrower', scopes: ['channels:read'] });
  assert.equal(narrower.statusCode, 201, narrower.body);
  // A key holding every scope still mints `*` by default.
  assert.deepEqual((await create(a.key, { name: 'all' })).json().scopes, ['*']);
});

test("a suspended tenant's keys → 403; reactivated → 200; audit records both", async () => {
  const s = await t.tenant();
  const admin = bearer(t.adminKey);
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${s.slug}`, headers: admin, payload: { status: 'suspended' } })).statusCode, 200);
  await expectProblem(bearer(s.key), 403, 'tenant_suspended');
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${s.id}`, headers: admin, payload: { status: 'active' } })).statusCode, 200);
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(s.key) })).statusCode, 200);
  const log = (await t.app.inject({ url: `/admin/audit-log?tenant=${s.id}`, headers: admin })).json();
  const actions = log.data.map((e: { action: string }) => e.action);
  assert.ok(actions.includes('tenant.suspended') && actions.includes('tenant.reactivated'), actions.join(','));
  const byAdmin = log.data.find((e: { action: string }) => e.action === 'tenant.suspended') as { actor_type: string; actor_id: string | null };
  assert.equal(byAdmin.actor_type, 'admin_key');
  assert.ok(byAdmin.actor_id);
  // The tenant sees that the platform acted, not which operator key, user or address.
  const own = (await t.app.inject({ url: '/v1/audit-log?action=tenant.suspended', headers: bearer(s.key) })).json().data as { actor_type: string; actor_id: string | null; ip: string | null }[];
  assert.deepEqual(own.map((e) => [e.actor_type, e.actor_id, e.ip]), [['platform', null, null]]);
});

test('tenant keys cannot reach /admin, admin keys cannot reach /v1', async () => {
  await expectProblem(bearer(a.key), 403, 'forbidden', '/admin/tenants');
  await expectProblem(bearer(t.adminKey), 403, 'forbidden', '/v1/tenant');
});

test('JWT with a tenant_id claim acts as that tenant; a forged or claim-less one is rejected', async () => {
  const secret = new TextEncoder().encode(JWT_SECRET);
  const good = await new SignJWT({ tenant_id: a.id, scope: 'tenant:read' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
  const r = await t.app.inject({ url: '/v1/tenant', headers: bearer(good) });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().id, a.id);
  // Scope from the claim is enforced.
  assert.equal((await t.app.inject({ url: '/v1/channels', headers: bearer(good) })).statusCode, 403);
  const forged = await new SignJWT({ tenant_id: a.id }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(40)));
  await expectProblem(bearer(forged), 401, 'token_invalid');
  const noClaim = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
  await expectProblem(bearer(noClaim), 401, 'token_invalid');
  // Query or body fields naming another tenant change nothing (Evolution #2435).
  const other = await t.tenant();
  const q = await t.app.inject({ url: `/v1/tenant?tenant_id=${other.id}&instanceName=${other.slug}`, headers: bearer(good) });
  assert.equal(q.json().id, a.id);
});

test('dashboard session: login by tenant slug, CSRF required for writes, subdomain never grants access', async () => {
  await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(a.key), payload: { email: 'owner@acme.example', role: 'admin', password: 'correct horse battery' } });
  const bad = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owner@acme.example', password: 'wrong password!', tenant: a.slug } });
  assert.equal(bad.statusCode, 401);
  const other = await t.tenant();
  const notMember = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owner@acme.example', password: 'correct horse battery', tenant: other.slug } });
  assert.equal(notMember.statusCode, 401, 'a subdomain / slug of another tenant grants nothing');
  const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owner@acme.example', password: 'correct horse battery', tenant: a.slug } });
  assert.equal(login.statusCode, 200, login.body);
  const cookie = String(login.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/i);
  const session = cookie.split(';')[0]!;
  const csrf = login.json().csrf_token as string;
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: { cookie: session } })).json().id, a.id);
  const noCsrf = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: { cookie: session }, payload: { name: 'x' } });
  assert.equal(noCsrf.statusCode, 403);
  assert.equal(noCsrf.json().code, 'csrf_failed');
  const withCsrf = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: { cookie: session, 'x-csrf-token': csrf }, payload: { name: 'x' } });
  assert.equal(withCsrf.statusCode, 201, withCsrf.body);
  // Admin role lacks tenant:write.
  const patch = await t.app.inject({ method: 'PATCH', url: '/v1/tenant', headers: { cookie: session, 'x-csrf-token': csrf }, payload: { name: 'nope' } });
  assert.equal(patch.statusCode, 403);
  await t.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: session } });
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: { cookie: session } })).statusCode, 401);
});

test("the plan's API requests per minute are enforced per tenant with Retry-After", async () => {
  const s = await t.tenant();
  const admin = bearer(t.adminKey);
  const p = await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${s.id}`, headers: admin, payload: { limits_override: { api_requests_per_minute: 3 } } });
  assert.equal(p.json().limits.api_requests_per_minute, 3, 'the override wins over the plan');
  for (let i = 0; i < 3; i++) assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(s.key) })).statusCode, 200);
  const over = await t.app.inject({ url: '/v1/tenant', headers: bearer(s.key) });
  assert.equal(over.statusCode, 429);
  assert.equal(over.json().code, 'rate_limited');
  assert.ok(Number(over.headers['retry-after']) >= 1, 'Retry-After is set');
  // Another tenant is not affected.
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(a.key) })).statusCode, 200);
});

test('a subdomain selects branding only, publicly, and never data', async () => {
  const admin = bearer(t.adminKey);
  await t.app.inject({ method: 'PATCH', url: `/admin/tenants/${a.id}`, headers: admin, payload: { branding: { display_name: 'Acme Support', primary_color: '#112233' } } });
  const b = await t.app.inject({ url: `/public/branding?slug=${a.slug}` });
  assert.equal(b.statusCode, 200);
  assert.equal(b.json().branding.primary_color, '#112233');
  assert.deepEqual(Object.keys(b.json()).sort(), ['branding', 'name', 'slug']);
  assert.equal((await t.app.inject({ url: '/public/branding?slug=nope-nope' })).statusCode, 404);
  // A tenant subdomain on an API call changes nothing: no credential, no access.
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: { host: `${a.slug}.example.com` } })).statusCode, 401);
});

test('another process revokes a key or suspends the tenant: this process stops accepting it at once (NOTIFY)', async () => {
  const { createAppContext } = await import('../../src/app/root.js');
  const { parseConfig } = await import('../../src/core/config.js');
  const { revokeApiKey } = await import('../../src/identity/key-service.js');
  const { updateTenantAsAdmin } = await import('../../src/tenants/service.js');
  const { asTenantId } = await import('../../src/db/db.js');
  const { silentLogger } = await import('../../src/core/runtime.js');
  const s = await t.tenant();
  const k = (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(s.key), payload: { name: 'cached' } })).json();
  // Warm this process's cache (and let its LISTEN come up) with a few requests.
  for (let i = 0; i < 3; i++) assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(k.key) })).statusCode, 200);
  const other = createAppContext({ config: parseConfig({ MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), DB_POOL_SIZE: '2' }), appUrl: t.testDb.appUrl, logger: silentLogger as never });
  const system = { type: 'system' as const, id: null, ip: null };
  const within = async (ms: number, status: number, headers: Record<string, string>) => {
    const end = Date.now() + ms;
    for (;;) {
      const r = await t.app.inject({ url: '/v1/tenant', headers });
      if (r.statusCode === status) return r;
      if (Date.now() > end) assert.fail(`still ${r.statusCode} after ${ms} ms: ${r.body}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  try {
    await revokeApiKey(other.ctx, system, asTenantId(s.id), k.id);
    assert.equal((await within(1000, 401, bearer(k.key))).json().code, 'api_key_revoked');
    assert.equal((await t.app.inject({ url: '/v1/tenant', headers: bearer(s.key) })).statusCode, 200);
    await updateTenantAsAdmin(other.ctx, system, s.id, { status: 'suspended' });
    assert.equal((await within(1000, 403, bearer(s.key))).json().code, 'tenant_suspended');
    await updateTenantAsAdmin(other.ctx, system, s.id, { status: 'active' });
    await within(1000, 200, bearer(s.key));
  } finally {
    await other.close();
  }
});

test('a JWT scope claim as an array narrows like the string form; a claim of any other shape is refused (it granted every scope)', async () => {
  const secret = new TextEncoder().encode(JWT_SECRET);
  const sign = (scope: unknown) => new SignJWT({ tenant_id: a.id, scope }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
  const arr = bearer(await sign(['tenant:read']));
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: arr })).statusCode, 200);
  await expectProblem(arr, 403, 'insufficient_scope', '/v1/api-keys');
  await expectProblem(bearer(await sign(42)), 401, 'token_invalid');
  await expectProblem(bearer(await sign(['tenant:read', 7])), 401, 'token_invalid');
  await expectProblem(bearer(await sign({ all: true })), 401, 'token_invalid');
});

test('only a credential with tenant:write makes, changes or removes an owner: members:write alone (an admin) cannot take the tenant over', async () => {
  const tn = await t.tenant();
  const add = (key: string, email: string, role: string) =>
    t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(key), payload: { email, role, password: 'correct horse battery' } });
  const owner = (await add(tn.key, `owner-${tn.slug}@example.test`, 'owner')).json() as { user_id: string };
  const admin = (await add(tn.key, `admin-${tn.slug}@example.test`, 'admin')).json() as { user_id: string };
  // A key with an admin's powers, without tenant:write.
  const keyRes = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tn.key), payload: { name: 'members', scopes: [...ROLE_SCOPES.admin] } });
  assert.equal(keyRes.statusCode, 201, keyRes.body);
  const adminKey = keyRes.json().key as string;
  const selfPromote = await t.app.inject({ method: 'PATCH', url: `/v1/members/${admin.user_id}`, headers: bearer(adminKey), payload: { role: 'owner' } });
  assert.equal(selfPromote.statusCode, 403, selfPromote.body);
  assert.equal(selfPromote.json().required_scope, 'tenant:write');
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/members/${owner.user_id}`, headers: bearer(adminKey), payload: { role: 'viewer' } })).statusCode, 403);
  assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/members/${owner.user_id}`, headers: bearer(adminKey) })).statusCode, 403);
  assert.equal((await add(adminKey, `second-${tn.slug}@example.test`, 'owner')).statusCode, 403);
  // What members:write may still do: roles below owner.
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/members/${admin.user_id}`, headers: bearer(adminKey), payload: { role: 'agent' } })).statusCode, 200);
  assert.equal((await add(adminKey, `viewer-${tn.slug}@example.test`, 'viewer')).statusCode, 201);
  // The owner's credential can.
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/members/${admin.user_id}`, headers: bearer(tn.key), payload: { role: 'owner' } })).statusCode, 200);
  const roles = (await t.app.inject({ url: '/v1/members', headers: bearer(tn.key) })).json().data.map((m: { role: string }) => m.role).sort();
  assert.deepEqual(roles, ['owner', 'owner', 'viewer']);
});

test('a role is granted only by a credential holding all its scopes: a key limited to members:write cannot make an admin and sign in as one (review of 2026-12-01)', async () => {
  const tn = await t.tenant();
  const key = async (scopes: string[]) => (await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tn.key), payload: { name: 'k', scopes } })).json().key as string;
  const membersOnly = await key(['members:read', 'members:write']);
  const add = (k: string, email: string, role: string) => t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(k), payload: { email, role, password: 'correct horse battery' } });
  const sock = await add(membersOnly, `sock-${tn.slug}@example.test`, 'admin');
  assert.equal(sock.statusCode, 403, sock.body);
  assert.equal(sock.json().code, 'insufficient_scope');
  assert.ok((sock.json().missing_scopes as string[]).includes('keys:write'), sock.body);
  const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { email: `sock-${tn.slug}@example.test`, password: 'correct horse battery', tenant: tn.slug } });
  assert.equal(login.statusCode, 401, 'no such user was made');
  assert.equal((await add(membersOnly, `viewer-${tn.slug}@example.test`, 'viewer')).statusCode, 403, 'a viewer reads messages, which this key cannot');
  // Raising an existing member is granting too; lowering is not.
  const agent = (await add(tn.key, `agent-${tn.slug}@example.test`, 'agent')).json() as { user_id: string };
  const agentKey = await key([...ROLE_SCOPES.agent, 'members:write']);
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/members/${agent.user_id}`, headers: bearer(agentKey), payload: { role: 'admin' } })).statusCode, 403);
  const admin = (await add(tn.key, `admin-${tn.slug}@example.test`, 'admin')).json() as { user_id: string };
  assert.equal((await t.app.inject({ method: 'PATCH', url: `/v1/members/${admin.user_id}`, headers: bearer(agentKey), payload: { role: 'agent' } })).statusCode, 200);
});

test('a key made by a key that expires expires no later: by default at the same time, a later time refused (review of 2026-12-01)', async () => {
  const tn = await t.tenant();
  const soon = new Date(Date.now() + 3_600_000);
  const made = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tn.key), payload: { name: 'short', scopes: ['keys:write', 'keys:read'], expires_at: soon.toISOString() } });
  assert.equal(made.statusCode, 201, made.body);
  const short = made.json().key as string;
  const child = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(short), payload: { name: 'child' } });
  assert.equal(child.statusCode, 201, child.body);
  assert.equal(new Date(child.json().expires_at).getTime(), soon.getTime(), 'no expires_at: the creator’s');
  const later = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(short), payload: { name: 'later', expires_at: new Date(soon.getTime() + 1000).toISOString() } });
  assert.equal(later.statusCode, 400, later.body);
  assert.equal(later.json().code, 'validation_failed');
  const earlier = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(short), payload: { name: 'earlier', expires_at: new Date(soon.getTime() - 60_000).toISOString() } });
  assert.equal(earlier.statusCode, 201, earlier.body);
  // A key that never expires makes keys that never expire.
  const forever = await t.app.inject({ method: 'POST', url: '/v1/api-keys', headers: bearer(tn.key), payload: { name: 'forever' } });
  assert.equal(forever.json().expires_at, null);
});

test('the same new address added by two tenants at once: one gets it, the other a 409 (was a 500)', async () => {
  for (let round = 0; round < 3; round++) {
    const [x, y] = [await t.tenant(), await t.tenant()];
    const email = `race-${round}-${x.slug}@example.test`;
    const rs = await Promise.all([x, y, x].map((tn) => t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(tn.key), payload: { email, role: 'agent', password: 'correct horse battery' } })));
    assert.deepEqual(rs.map((r) => r.statusCode).sort(), [201, 409, 409], rs.map((r) => r.body).join('\n'));
  }
});

test('two owners removed at once: one goes, the other is refused — a tenant never ends without an owner', async () => {
  for (let round = 0; round < 5; round++) {
    const tn = await t.tenant();
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const r = await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(tn.key), payload: { email: `o${n}-${tn.slug}@example.test`, role: 'owner', password: 'correct horse battery' } });
      ids.push(r.json().user_id);
    }
    const owners = async () => (await t.app.inject({ url: '/v1/members', headers: bearer(tn.key) })).json().data.filter((m: { role: string }) => m.role === 'owner').length;
    const before = await owners();
    const answers = await Promise.all(ids.map((id) => t.app.inject({ method: 'DELETE', url: `/v1/members/${id}`, headers: bearer(tn.key) })));
    const after = await owners();
    assert.ok(after >= 1, `round ${round}: ${after} owners left (answers ${answers.map((r) => r.statusCode).join(', ')})`);
    if (before === 2) assert.deepEqual(answers.map((r) => r.statusCode).sort(), [204, 409]);
  }
});

test("a user one tenant created (with a password it chose) cannot be added by another tenant: the first tenant's password never signs in there", async () => {
  const [squatter, victim] = [await t.tenant(), await t.tenant()];
  const email = `ceo-${victim.slug}@victim.example`;
  const made = await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(squatter.key), payload: { email, role: 'viewer', password: 'attacker-chosen-pw' } });
  assert.equal(made.statusCode, 201, made.body);
  const added = await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(victim.key), payload: { email, role: 'owner' } });
  assert.equal(added.statusCode, 409, added.body);
  assert.equal(added.json().code, 'conflict');
  assert.doesNotMatch(added.body, /attacker|viewer/);
  const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'attacker-chosen-pw', tenant: victim.slug } });
  assert.equal(login.statusCode, 401);
  // The creating tenant still manages its own user: removed and added again.
  const userId = made.json().user_id as string;
  assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/members/${userId}`, headers: bearer(squatter.key) })).statusCode, 204);
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(squatter.key), payload: { email, role: 'viewer' } })).statusCode, 201);
  // Deleting the tenant deletes the users it made: the address is free again.
  assert.equal((await t.app.inject({ method: 'DELETE', url: `/admin/tenants/${squatter.id}`, headers: bearer(t.adminKey) })).statusCode, 204);
  const nowFree = await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(victim.key), payload: { email, role: 'owner', password: 'the real ceo password' } });
  assert.equal(nowFree.statusCode, 201, nowFree.body);
});

test("a removed member's sessions end, and do not come back when they are added again", async () => {
  const tn = await t.tenant();
  const email = `agent-${tn.slug}@example.test`;
  const m = (await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(tn.key), payload: { email, role: 'agent', password: 'correct horse battery' } })).json() as { user_id: string };
  const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'correct horse battery', tenant: tn.slug } });
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: { cookie } })).statusCode, 200);
  assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/members/${m.user_id}`, headers: bearer(tn.key) })).statusCode, 204);
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: { cookie } })).statusCode, 401);
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(tn.key), payload: { email, role: 'admin' } })).statusCode, 201);
  assert.equal((await t.app.inject({ url: '/v1/tenant', headers: { cookie } })).statusCode, 401, 'the old session stays ended');
});

test('a superadmin session ends when the user is no longer a superadmin', async () => {
  const { createUser } = await import('../../src/members/service.js');
  const email = `root-${Date.now()}@example.test`;
  const u = await createUser(t.ctx, { email, password: 'correct horse battery', superadmin: true });
  const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'correct horse battery' } });
  assert.equal(login.statusCode, 200, login.body);
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  assert.equal((await t.app.inject({ url: '/admin/tenants', headers: { cookie } })).statusCode, 200);
  await t.ctx.db.updateTable('users').set({ is_superadmin: false }).where('id', '=', u.id).execute();
  assert.equal((await t.app.inject({ url: '/admin/tenants', headers: { cookie } })).statusCode, 401);
});

test('sign-in attempts are limited per account before the password is checked: the right password is refused too once over, with Retry-After; other accounts are unaffected', async () => {
  const tn = await t.tenant();
  const email = `guessed-${tn.slug}@example.test`;
  await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(tn.key), payload: { email, role: 'agent', password: 'correct horse battery' } });
  const login = (password: string, who = email) => t.app.inject({ method: 'POST', url: '/auth/login', payload: { email: who, password, tenant: tn.slug } });
  for (let i = 0; i < 10; i++) assert.equal((await login(`wrong password ${i}`)).statusCode, 401);
  const limited = await login('correct horse battery');
  assert.equal(limited.statusCode, 429, limited.body);
  assert.equal(limited.json().code, 'rate_limited');
  const retry = Number(limited.headers['retry-after']);
  assert.ok(retry > 0 && retry <= 900, `Retry-After ${retry}`);
  // The same address differently cased is the same account.
  assert.equal((await login('correct horse battery', email.toUpperCase())).statusCode, 429);
  const other = `other-${tn.slug}@example.test`;
  await t.app.inject({ method: 'POST', url: '/v1/members', headers: bearer(tn.key), payload: { email: other, role: 'agent', password: 'correct horse battery' } });
  assert.equal((await login('correct horse battery', other)).statusCode, 200);
});

test('X-Forwarded-For names the client only when a proxy (loopback or a private network by default) sends it: a client on the internet cannot forge its audit address', async () => {
  const tn = await t.tenant();
  const create = (remoteAddress: string, forwarded: string) =>
    t.app.inject({ method: 'POST', url: '/v1/api-keys', remoteAddress, headers: { ...bearer(tn.key), 'x-forwarded-for': forwarded }, payload: { name: `from ${remoteAddress}` } });
  assert.equal((await create('203.0.113.9', '6.6.6.6')).statusCode, 201);
  assert.equal((await create('10.1.2.3', '198.51.100.4')).statusCode, 201);
  const entries = (await t.app.inject({ url: '/v1/audit-log?action=api_key.created', headers: bearer(tn.key) })).json().data as { ip: string | null; details: { name?: string } }[];
  const ipOf = (name: string) => entries.find((e) => e.details.name === name)?.ip;
  assert.equal(ipOf('from 203.0.113.9'), '203.0.113.9', 'a public peer: its own address, the header ignored');
  assert.equal(ipOf('from 10.1.2.3'), '198.51.100.4', 'a proxy on a private network: the address it forwards');
});

test('a superadmin key past its expiry is refused; a used one records when', async () => {
  const { generateApiKey: gen } = await import('../../src/identity/api-keys.js');
  const { newId } = await import('../../src/core/ids.js');
  const expired = gen('admin');
  await t.database.db.insertInto('admin_keys').values({ id: newId('key'), name: 'old', hint: expired.hint, key_hash: expired.hash, expires_at: new Date(Date.now() - 1000) }).execute();
  await expectProblem(bearer(expired.key), 401, 'api_key_expired', '/admin/tenants');
  const live = gen('admin');
  const id = newId('key');
  await t.database.db.insertInto('admin_keys').values({ id, name: 'live', hint: live.hint, key_hash: live.hash, expires_at: new Date(Date.now() + 60_000) }).execute();
  assert.equal((await t.app.inject({ url: '/admin/tenants', headers: bearer(live.key) })).statusCode, 200);
  const row = await t.database.db.selectFrom('admin_keys').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
  assert.ok(row.last_used_at, 'last_used_at written');
});
