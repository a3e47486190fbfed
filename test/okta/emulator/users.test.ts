import t from 'tap';
import { all, checkResponses, oktaError, startOktaHarness } from './harness.js';

const h = await startOktaHarness();
t.teardown(() => h.close());
const password = { value: 'Sup3r-secret!' };

t.test('create active with a password, staged without activation, provisioned without credentials', async (t) => {
  const active = await h.sdk.userApi.createUser({
    body: { profile: { login: 'ada@example.com', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' }, credentials: { password } },
    activate: true,
  });
  t.match(active.id, /^00u[A-Za-z0-9]{17}$/);
  t.equal(active.status, 'ACTIVE');
  t.ok(active.activated, 'activation time is set');
  t.equal(active.profile?.firstName, 'Ada');
  t.equal(active._links?.['self']?.['href'], `${h.emu.baseUrl}/api/v1/users/${active.id}`);

  const staged = await h.sdk.userApi.createUser({ body: { profile: { login: 'sam@example.com', email: 'sam@example.com' } }, activate: false });
  t.equal(staged.status, 'STAGED');
  t.equal(staged.activated, null, 'never activated');

  const provisioned = await h.sdk.userApi.createUser({ body: { profile: { login: 'pat@example.com', email: 'pat@example.com' } } });
  t.equal(provisioned.status, 'PROVISIONED', 'activate defaults to true; without a password the user must still set one');
});

t.test('get by id and by login (case-insensitive); unknown is 404 E0000007', async (t) => {
  const created = await h.sdk.userApi.createUser({ body: { profile: { login: 'Grace@Example.com', email: 'grace@example.com' }, credentials: { password } } });
  const byId = await h.sdk.userApi.getUser({ userId: created.id ?? '' });
  t.equal(byId.profile?.login, 'Grace@Example.com');
  const byLogin = await h.sdk.userApi.getUser({ userId: 'grace@example.com' });
  t.equal(byLogin.id, created.id);

  const missing = await oktaError(h.sdk.userApi.getUser({ userId: 'nobody@example.com' }));
  t.equal(missing.status, 404);
  t.equal(missing.errorCode, 'E0000007');
  t.equal(missing.errorSummary, 'Not found: Resource not found: nobody@example.com (User)');
  t.match(missing.errorId, /^oae/);
});

t.test('validation and duplicate logins are 400 E0000001 with causes', async (t) => {
  const blank = await oktaError(h.sdk.userApi.createUser({ body: { profile: { email: 'x@example.com' } } }));
  t.equal(blank.status, 400);
  t.equal(blank.errorCode, 'E0000001');
  t.equal(blank.errorSummary, 'Api validation failed: login');
  t.same(blank.errorCauses, [{ errorSummary: 'login: The field cannot be left blank' }]);

  const notEmail = await oktaError(h.sdk.userApi.createUser({ body: { profile: { login: 'ada', email: 'ada@example.com' } } }));
  t.same(notEmail.errorCauses, [{ errorSummary: 'login: Username must be in the form of an email address' }]);

  const dup = await oktaError(h.sdk.userApi.createUser({ body: { profile: { login: 'ADA@example.com', email: 'other@example.com' } } }));
  t.equal(dup.errorCode, 'E0000001');
  t.same(dup.errorCauses, [{ errorSummary: 'login: An object with this field already exists in the current organization' }]);
});

t.test('partial update merges the profile; a taken login is refused', async (t) => {
  const user = await h.sdk.userApi.createUser({
    body: { profile: { login: 'lin@example.com', email: 'lin@example.com', firstName: 'Lin', department: 'R&D' } },
  });
  const updated = await h.sdk.userApi.updateUser({ userId: user.id ?? '', user: { profile: { firstName: 'Linnea', title: 'Engineer' } } });
  t.same(updated.profile, { login: 'lin@example.com', email: 'lin@example.com', firstName: 'Linnea', department: 'R&D', title: 'Engineer' });
  t.equal((await h.sdk.userApi.getUser({ userId: user.id ?? '' })).profile?.title, 'Engineer', 'the change is stored');

  const taken = await oktaError(h.sdk.userApi.updateUser({ userId: user.id ?? '', user: { profile: { login: 'ada@example.com' } } }));
  t.equal(taken.errorCode, 'E0000001');
});

t.test('full replacement removes left-out attributes and validates like create', async (t) => {
  const user = await h.sdk.userApi.createUser({
    body: { profile: { login: 'rex@example.com', email: 'rex@example.com', firstName: 'Rex', department: 'Ops', title: 'Lead' } },
  });
  const userId = user.id ?? '';
  const replaced = await h.sdk.userApi.replaceUser({ userId, user: { profile: { login: 'rex@example.com', email: 'rex@corp.example', firstName: 'Rex' } } });
  t.same(replaced.profile, { login: 'rex@example.com', email: 'rex@corp.example', firstName: 'Rex' }, 'department and title are gone');
  t.same((await h.sdk.userApi.getUser({ userId })).profile, replaced.profile, 'the replacement is stored');

  const blank = await oktaError(h.sdk.userApi.replaceUser({ userId, user: { profile: { firstName: 'Rex' } } }));
  t.equal(blank.status, 400);
  t.equal(blank.errorCode, 'E0000001');
  t.same(blank.errorCauses, [{ errorSummary: 'login: The field cannot be left blank' }, { errorSummary: 'email: The field cannot be left blank' }]);
  const taken = await oktaError(h.sdk.userApi.replaceUser({ userId, user: { profile: { login: 'ada@example.com', email: 'rex@example.com' } } }));
  t.same(taken.errorCauses, [{ errorSummary: 'login: An object with this field already exists in the current organization' }]);
  t.equal((await h.sdk.userApi.getUser({ userId })).profile?.email, 'rex@corp.example', 'a refused replacement changes nothing');

  const missing = await oktaError(h.sdk.userApi.replaceUser({ userId: 'nobody@example.com', user: { profile: { login: 'n@example.com', email: 'n@example.com' } } }));
  t.equal(missing.status, 404);
  t.equal(missing.errorCode, 'E0000007');
});

t.test('list with filter, search and q', async (t) => {
  const logins = async (param: Parameters<typeof h.sdk.userApi.listUsers>[0]) =>
    (await all(h.sdk.userApi.listUsers(param))).map((u) => u?.profile?.login).sort();
  t.same(await logins({ filter: 'profile.login eq "ada@example.com"' }), ['ada@example.com']);
  t.same(await logins({ search: 'status eq "STAGED"' }), ['sam@example.com']);
  t.same(await logins({ filter: 'status eq "ACTIVE" and profile.firstName eq "ada"' }), ['ada@example.com'], 'eq ignores case');
  t.same(await logins({ search: 'profile.department eq "R&D"' }), ['lin@example.com'], 'search reaches any profile attribute');
  t.same(await logins({ q: 'gr' }), ['Grace@Example.com'], 'q is a prefix match');

  const unsupported = await oktaError(all(h.sdk.userApi.listUsers({ filter: 'profile.department eq "R&D"' })));
  t.equal(unsupported.status, 400, 'filter is limited to a few attributes');
  t.equal(unsupported.errorCode, 'E0000031');
});

t.test('paging follows the Link header across pages', async (t) => {
  for (let i = 0; i < 5; i++) {
    await h.sdk.userApi.createUser({ body: { profile: { login: `page${i}@example.com`, email: `page${i}@example.com` } }, activate: false });
  }
  const since = h.exchanges.length;
  const paged = await all(h.sdk.userApi.listUsers({ search: 'profile.login sw "page"', limit: 2 }));
  t.same(paged.map((u) => u?.profile?.login), ['page0@example.com', 'page1@example.com', 'page2@example.com', 'page3@example.com', 'page4@example.com']);
  const requests = h.exchanges.slice(since).map((e) => new URL(e.url));
  t.equal(requests.length, 3, 'three pages of at most two');
  t.ok(requests.slice(1).every((u) => u.searchParams.get('after') && u.searchParams.get('search') === 'profile.login sw "page"'), 'next links keep the query');
});

t.test('a wrong or missing API token is 401 E0000011', async (t) => {
  // Collections are lazy: the request (and so the 401) happens on the first iteration.
  const wrong = await oktaError(all(h.client({ token: 'not-the-token' }).userApi.listUsers()));
  t.equal(wrong.status, 401);
  t.equal(wrong.errorCode, 'E0000011');
  t.equal(wrong.errorSummary, 'Invalid token provided');
  const anonymous = await fetch(`${h.emu.baseUrl}/api/v1/users`);
  t.equal(anonymous.status, 401);
});

t.test('every answer has the documented shape', async (t) => {
  t.ok(checkResponses(t, h) > 20);
});
