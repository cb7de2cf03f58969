import { defineEntity, p } from '@mikro-orm/core';
import { newId, type UserId } from './ids.ts';

/** normalizeEmail is the form an email is stored and compared in: trimmed, lower-case. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function normalizeEntityEmail({ entity }: { entity: { email: string } }): void {
  entity.email = normalizeEmail(entity.email);
}

/** UserSchema maps User to the `users` table. */
export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p
      .uuid()
      .$type<UserId>()
      .primary()
      .onCreate(() => newId<UserId>()),
    // The column type normalizes on every write and every query parameter, so lookups by
    // email need no lower() on either side and the unique index sees one spelling.
    email: p.string().trim().lowercase().length(320).unique(),
    name: p.string().length(200),
    passwordHash: p.text().hidden(),
    isAdmin: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    passwordChangedAt: p.datetime().nullable(),
  },
  hooks: {
    // Keep the entity in memory in the stored spelling too, not only the row.
    beforeCreate: [normalizeEntityEmail],
    beforeUpdate: [normalizeEntityEmail],
  },
});

/** User is a person who signs in: an admin, or a tenant who owns VMs and images. */
export class User extends UserSchema.class {}
UserSchema.setClass(User);
