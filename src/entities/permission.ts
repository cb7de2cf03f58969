import { defineEntity, p } from '@mikro-orm/core';
import { type ImageId, newId, type PermissionId, type VmId } from './ids.ts';
import { User } from './user.ts';

/** RESOURCE_TYPES are the kinds of resource a Permission grants a role on. */
export const RESOURCE_TYPES = ['VM', 'IMAGE'] as const;
/** ResourceType is one of RESOURCE_TYPES. */
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * ROLES, strongest first: OWNER (everything, including sharing and deleting), OPERATOR (use:
 * start, stop, console, snapshot), VIEWER (see it).
 */
export const ROLES = ['OWNER', 'OPERATOR', 'VIEWER'] as const;
/** Role is one of ROLES. */
export type Role = (typeof ROLES)[number];

/** PermissionSchema maps Permission to the `permissions` table. */
export const PermissionSchema = defineEntity({
  name: 'Permission',
  tableName: 'permissions',
  properties: {
    id: p
      .uuid()
      .$type<PermissionId>()
      .primary()
      .onCreate(() => newId<PermissionId>()),
    // No index of its own: the unique (user, resource type, resource id) index leads with it.
    user: () => p.manyToOne(User).ref().deleteRule('cascade'),
    resourceType: p.enum(RESOURCE_TYPES),
    /** resourceId is the id of a Vm or an Image (by resourceType); no foreign key. */
    resourceId: p.uuid().$type<VmId | ImageId>(),
    /**
     * resourceName is the resource's name, kept here so that a user's list is a walk of the
     * listing index in name order, one page long, however many resources the table holds.
     * Renames change it too. The default only lets the column be added to existing rows, which
     * its migration then fills.
     */
    resourceName: p.string().length(128).default(''),
    role: p.enum(ROLES),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  uniques: [
    // Also serves "what may this user see of type T" (its first two columns), the filter of
    // every permission-scoped list query.
    {
      name: 'permissions_user_resource_unique',
      properties: ['user', 'resourceType', 'resourceId'],
    },
  ],
  indexes: [
    // "who may do what on this resource" (sharing, and cleanup when a resource goes).
    { name: 'permissions_resource_index', properties: ['resourceType', 'resourceId'] },
    // A user's resources of one type by name, as their lists are ordered.
    {
      name: 'permissions_listing_index',
      properties: ['user', 'resourceType', 'resourceName', 'resourceId'],
    },
  ],
});

/** Permission grants a user a role on one VM or image. */
export class Permission extends PermissionSchema.class {}
PermissionSchema.setClass(Permission);
