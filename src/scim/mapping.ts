import { URN } from './urn.js';
import type { ScimResource } from './schemas/types.js';

/**
 * The one place that turns stored rows into SCIM resources (RFC 7643 §3.1 meta). Rows are typed
 * structurally here so the protocol layer does not import the database layer.
 */
export interface StoredRow {
  readonly id: string;
  readonly data: Record<string, unknown>;
  readonly version: number;
  readonly created_at: Date;
  readonly updated_at: Date;
}

export interface StoredUser extends StoredRow {
  readonly active: boolean;
  readonly groups?: readonly { value: string; display: string }[];
}

export interface StoredGroup extends StoredRow {
  readonly members?: readonly { value: string; type: string; display: string | null }[];
}

/** `W/"<n>"`: a weak entity tag from the row version (RFC 7644 §3.14). */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

function meta(resourceType: string, row: StoredRow, location: string): ScimResource {
  return {
    resourceType,
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location,
    version: etagOf(row.version),
  };
}

/**
 * Unassigned is absent (RFC 7643 §2.5, RFC 7644 §3.5.2.2): an attribute whose value is null or an empty
 * list — `emails` after the last one was removed, an extension left empty — is not rendered at all.
 */
function assignedOnly(data: Record<string, unknown>, omit?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === omit || value === null || (Array.isArray(value) && value.length === 0)) continue;
    if (key.startsWith('urn:') && typeof value === 'object' && !Array.isArray(value)) {
      const inner = assignedOnly(value as Record<string, unknown>);
      if (Object.keys(inner).length > 0) out[key] = inner;
      continue;
    }
    out[key] = value;
  }
  return out;
}

/**
 * The user's `active` as the IdP assigned it, or null when unassigned: the stored document keeps it as the
 * IdP left it (see userFields), and documents written before it did hold it only in the column.
 */
export function assignedActive(row: Pick<StoredUser, 'data' | 'active'>): boolean | null {
  const stored = 'active' in row.data ? row.data.active : row.active;
  return typeof stored === 'boolean' ? stored : null;
}

/** `baseUrl` is the tenant's SCIM root, e.g. `https://host/scim/v2/acme`. */
export function userToResource(row: StoredUser, baseUrl: string): ScimResource {
  const schemas: string[] = [URN.user];
  if (row.data[URN.enterpriseUser] !== undefined) schemas.push(URN.enterpriseUser);
  const resource: ScimResource = { schemas, id: row.id, ...assignedOnly(row.data, 'active') };
  const active = assignedActive(row);
  if (active !== null) resource.active = active;
  if (row.groups && row.groups.length > 0) {
    resource.groups = row.groups.map((g) => ({ value: g.value, $ref: `${baseUrl}/Groups/${g.value}`, display: g.display, type: 'direct' }));
  }
  resource.meta = meta('User', row, `${baseUrl}/Users/${row.id}`);
  return resource;
}

export function groupToResource(row: StoredGroup, baseUrl: string): ScimResource {
  const resource: ScimResource = { schemas: [URN.group], id: row.id, ...assignedOnly(row.data) };
  if (row.members && row.members.length > 0) {
    resource.members = row.members.map((m) => ({
      value: m.value,
      $ref: `${baseUrl}/${m.type === 'Group' ? 'Groups' : 'Users'}/${m.value}`,
      type: m.type,
      ...(m.display !== null ? { display: m.display } : {}),
    }));
  }
  resource.meta = meta('Group', row, `${baseUrl}/Groups/${row.id}`);
  return resource;
}

/** The RFC 7644 §3.4.2 ListResponse envelope. */
export function listResponse(resources: ScimResource[], total: number, startIndex: number): ScimResource {
  return {
    schemas: [URN.listResponse],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
