/**
 * Step-by-step setup for each IdP, with the values filled in. Written from docs/idp-setup.md: keep the two
 * in step when an IdP's console or a quirk changes.
 */
export type IdpId = 'entra' | 'okta' | 'onelogin' | 'jumpcloud' | 'google' | 'other';

export interface GuideValues {
  readonly scimBaseUrl: string;
}

/** A value to paste: what the IdP's form calls it and what goes in. `token` is filled by the generated token. */
export interface PasteField {
  readonly label: string;
  readonly value: string | 'token';
  /** Okta's header field wants "Bearer " in front of the token. */
  readonly bearerPrefix?: boolean;
  readonly note?: string;
}

export interface Guide {
  readonly id: IdpId;
  readonly name: string;
  readonly supported: boolean;
  readonly intro: string;
  readonly steps: readonly string[];
  readonly fields: (values: GuideValues) => readonly PasteField[];
  readonly mappings: readonly { readonly scim: string; readonly idp: string; readonly note: string }[];
  readonly quirks: readonly string[];
}

export const GUIDES: readonly Guide[] = [
  {
    id: 'entra',
    name: 'Microsoft Entra ID',
    supported: true,
    intro: 'Enterprise applications → your application → Provisioning.',
    steps: [
      'Open the Entra admin center, go to Enterprise applications and open (or create, as a non-gallery application) the application for this product.',
      'Open Provisioning, select "Get started" or "Connect your application", and set the Provisioning Mode to Automatic.',
      'Paste the Tenant URL and the Secret Token below, then select "Test Connection". It should succeed in a few seconds.',
      'Under Mappings, check the user attribute mappings below, save, then assign users and groups to the application.',
      'Set the Provisioning Status to On and save. Entra starts its first cycle within about 40 minutes; "Provision on demand" pushes one user at once.',
    ],
    fields: ({ scimBaseUrl }) => [
      { label: 'Tenant URL', value: `${scimBaseUrl}?aadOptscim062020`, note: 'The ?aadOptscim062020 flag turns on Entra\'s standards-compliant requests.' },
      { label: 'Secret Token', value: 'token' },
    ],
    mappings: [
      { scim: 'userName', idp: 'userPrincipalName', note: 'Entra\'s default; keep matching precedence 1 on it.' },
      { scim: 'active', idp: 'Switch([IsSoftDeleted], , "False", "True", "True", "False")', note: 'Entra\'s default. false blocks the user and ends their sessions.' },
      { scim: 'emails[type eq "work"].value', idp: 'mail', note: 'The email the user signs in with.' },
      { scim: 'name.givenName / name.familyName', idp: 'givenName / surname', note: 'Optional.' },
      { scim: 'externalId', idp: 'objectId', note: 'Never changes, unlike mailNickname.' },
    ],
    quirks: [
      'Users without a mail attribute arrive without an email and wait for review.',
      'Entra retries failed requests for hours; each refusal shows below with its reason.',
    ],
  },
  {
    id: 'okta',
    name: 'Okta',
    supported: true,
    intro: 'Applications → your SCIM app → Provisioning → Integration.',
    steps: [
      'In the Okta Admin Console, open Applications and your SCIM app (an app integration with SCIM provisioning enabled on its General tab).',
      'Open Provisioning → Integration → Edit, and paste the SCIM connector base URL below.',
      'Set "Unique identifier field for users" to userName.',
      'Tick Push New Users, Push Profile Updates and Push Groups (and Import New Users and Profile Updates if you want imports).',
      'Set Authentication Mode to HTTP Header and paste the Authorization value below, then "Test Connector Configuration" and Save.',
      'Under Provisioning → To App, enable Create Users, Update User Attributes and Deactivate Users. Then assign people and push groups.',
    ],
    fields: ({ scimBaseUrl }) => [
      { label: 'SCIM connector base URL', value: scimBaseUrl },
      { label: 'Unique identifier field for users', value: 'userName' },
      { label: 'Authorization (HTTP Header)', value: 'token', bearerPrefix: true, note: 'If the test fails with 401, try the token with and without "Bearer " in front: it depends on the app.' },
    ],
    mappings: [
      { scim: 'userName', idp: 'user.login (Okta username)', note: 'Required.' },
      { scim: 'name.givenName / name.familyName', idp: 'user.firstName / user.lastName', note: 'Okta\'s defaults.' },
      { scim: 'emails (primary)', idp: 'user.email', note: 'The email the user signs in with.' },
    ],
    quirks: [
      'Okta never deletes users over SCIM: it deactivates them, which blocks the user and ends their sessions.',
      'Groups arrive without an externalId: role rules should match them by name or by their Provisio id.',
      'Custom Okta attributes that Provisio does not know are ignored, never refused.',
    ],
  },
  {
    id: 'onelogin',
    name: 'OneLogin',
    supported: true,
    intro: 'Applications → your SCIM Provisioner app → Configuration.',
    steps: [
      'In OneLogin Administration, add (or open) a "SCIM Provisioner with SAML (SCIM v2 Enterprise)" application.',
      'On Configuration, paste the SCIM Base URL and the SCIM Bearer Token below, and keep a SCIM JSON Template that sends userName.',
      'Select Enable under API Status, then on Provisioning tick "Enable provisioning" and save.',
      'Assign users (and map roles to groups under Parameters → Groups if you use groups).',
    ],
    fields: ({ scimBaseUrl }) => [
      { label: 'SCIM Base URL', value: scimBaseUrl },
      { label: 'SCIM Bearer Token', value: 'token' },
    ],
    mappings: [
      { scim: 'userName', idp: '{$parameters.scimusername}', note: 'Usually the email.' },
      { scim: 'emails (primary)', idp: '{$user.email}', note: 'The email the user signs in with.' },
    ],
    quirks: ['Group membership arrives as PATCH /Groups, which Provisio applies as sent.'],
  },
  {
    id: 'jumpcloud',
    name: 'JumpCloud',
    supported: true,
    intro: 'SSO Applications → your application → Identity Management.',
    steps: [
      'In the JumpCloud Admin Portal, open SSO Applications and your custom application (or add one), then its Identity Management tab.',
      'Choose SCIM API type "SCIM 2.0", paste the Base URL and the Token Key below, and select "Test Connection".',
      'Activate and save. JumpCloud creates and then deletes a test user and a test group: both show below.',
      'Bind user groups to the application so their members are provisioned.',
    ],
    fields: ({ scimBaseUrl }) => [
      { label: 'Base URL', value: scimBaseUrl },
      { label: 'Token Key', value: 'token' },
    ],
    mappings: [{ scim: 'userName', idp: 'email', note: 'JumpCloud sends the email as userName.' }],
    quirks: ['JumpCloud removes group members with a value list and no filter: supported.'],
  },
  {
    id: 'google',
    name: 'Google Workspace',
    supported: false,
    intro: 'Not supported yet.',
    steps: [
      'Google Workspace provisions users only into applications from its own catalogue; it offers no way to point it at another SCIM 2.0 service such as this one.',
      'Until Google offers that, your users are created when they first sign in (just-in-time), or your provider can import them for you.',
    ],
    fields: () => [],
    mappings: [],
    quirks: [],
  },
  {
    id: 'other',
    name: 'Another SCIM 2.0 client',
    supported: true,
    intro: 'Any IdP or tool that speaks SCIM 2.0 (RFC 7644) with a bearer token.',
    steps: [
      'Point the client at the SCIM base URL below, with the token sent as "Authorization: Bearer <token>".',
      'Send users with a userName and a primary email; groups with a displayName and members by user id.',
      'The service advertises what it supports at /ServiceProviderConfig, /Schemas and /ResourceTypes under the base URL.',
    ],
    fields: ({ scimBaseUrl }) => [
      { label: 'SCIM base URL', value: scimBaseUrl },
      { label: 'Bearer token', value: 'token' },
    ],
    mappings: [
      { scim: 'userName', idp: 'a unique login', note: 'Required.' },
      { scim: 'emails (primary)', idp: 'the sign-in email', note: 'Needed to create the user at sign-in.' },
    ],
    quirks: [],
  },
];

export function guide(id: string | undefined): Guide | undefined {
  return GUIDES.find((g) => g.id === id);
}
