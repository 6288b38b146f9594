// Drives a real server through the TypeScript client generated from
// openapi/openapi.json: sign-up, validate, a typed bad-credentials error,
// login, me, refresh, logout, and me refused with invalid-token.
// Usage: node dist/walk.js BASE_URL MAILBOX
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { client } from './client/client.gen.js';
import { login, logout, me, refresh, signup, validate } from './client/sdk.gen.js';
import type { AccountStatus, ErrorCode, Problem, RoleName, TokenType } from './client/types.gen.js';
import type { Member, User } from './client/types.gen.js';

// The closed sets are unions, so a client can switch on them with type
// checking: these lines compile only while that holds.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const closedSets: [
  Equals<Problem['error_code'], ErrorCode>,
  Equals<User['status'], AccountStatus>,
  Equals<Member['role'], RoleName>,
  Equals<TokenType, 'Bearer'>,
] = [true, true, true, true];
// @ts-expect-error: a misspelt code is not an ErrorCode.
const misspelt: ErrorCode = 'bad-credentails';
void [closedSets, misspelt];

const [baseUrl, mailbox] = process.argv.slice(2);
if (!baseUrl || !mailbox) {
  throw new Error('usage: walk.js BASE_URL MAILBOX');
}
client.setConfig({ baseUrl });

/** The code of the newest mail of `kind` to `to`, waiting for it a while. */
async function mailTo(to: string, kind: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    let text = '';
    try {
      text = readFileSync(mailbox, 'utf8');
    } catch {
      // not written yet
    }
    // Complete lines only: the last may still be being appended.
    const mails = text
      .split('\n')
      .slice(0, -1)
      .map((line) => JSON.parse(line) as { to: string; kind: string; code: string });
    const found = mails.filter((m) => m.to === to && m.kind === kind).at(-1);
    if (found) {
      return found.code;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${kind} mail to ${to}`);
}

/** What a switch on the code does with it: exhaustive over ErrorCode's cases. */
function advice(code: ErrorCode): string {
  switch (code) {
    case 'bad-credentials':
      return 'check the username and password';
    case 'account-not-validated':
      return 'validate the address first';
    case 'too-many-attempts':
      return 'wait for Retry-After';
    default:
      return 'see the problem detail';
  }
}

const email = 'ts-walk@example.com';
const password = 'correct horse battery staple';

const created = await signup({ body: { email, password, first_name: 'Ada', last_name: 'Lovelace' } });
assert.equal(created.response?.status, 201, JSON.stringify(created.error));
assert.equal(created.data?.status, 'pending_validation');

const validated = await validate({ body: { code: await mailTo(email, 'validate-email') } });
assert.equal(validated.data?.status, 'active', JSON.stringify(validated.error));
assert.equal(validated.data?.email_verified, true);

const refused = await login({ body: { username: email, password: 'not the password' } });
assert.equal(refused.response?.status, 401);
assert.ok(refused.error, 'a wrong password is an error');
const problem: Problem = refused.error;
assert.equal(advice(problem.error_code), 'check the username and password');
assert.equal(problem.error_code, 'bad-credentials');

const tokens = await login({ body: { username: email, password } });
assert.ok(tokens.data, JSON.stringify(tokens.error));
assert.equal(tokens.data.token_type, 'Bearer');

// A plain token: the client puts it in every scheme the operation names.
const profile = await me({ auth: tokens.data.access_token });
assert.equal(profile.data?.email, email, JSON.stringify(profile.error));

const renewed = await refresh({ body: { refresh_token: tokens.data.refresh_token } });
assert.ok(renewed.data, JSON.stringify(renewed.error));
assert.notEqual(renewed.data.refresh_token, tokens.data.refresh_token);
const access = renewed.data.access_token;

const ended = await logout({ auth: access });
assert.equal(ended.response?.status, 200, JSON.stringify(ended.error));

const after = await me({ auth: access });
assert.equal(after.response?.status, 401);
assert.equal(after.error?.error_code, 'invalid-token');

console.log('sdk (typescript): 1 passed, 0 failed');
