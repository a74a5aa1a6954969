// Who is calling (GET /api/me): the principal App Service Authentication vouched for, and the pgkeep roles the API
// grants it. The console offers only what these roles allow; the API checks them again on every call.

import { z } from 'zod';

export const roleNames = ['Reader', 'Operator', 'Admin'] as const;
export type CallerRole = (typeof roleNames)[number];

export const meSchema = z.object({
  /** The signed-in name (x-ms-client-principal), null when the request carried none. */
  principal: z.string().nullable(),
  /** The roles the API grants: from the sign-in when roles are enforced, otherwise every role. */
  roles: z.array(z.enum(roleNames)),
  authenticated: z.boolean(),
  /** ENFORCE_CALLER_ROLES: false locally, where every caller is treated as Admin. */
  rolesEnforced: z.boolean(),
});
export type Me = z.infer<typeof meSchema>;

const rank: Record<CallerRole, number> = { Reader: 1, Operator: 2, Admin: 3 };

/** Whether holding `roles` allows what `needed` allows (Admin ⊃ Operator ⊃ Reader). */
export function hasRole(roles: readonly CallerRole[], needed: CallerRole): boolean {
  return roles.some((r) => rank[r] >= rank[needed]);
}
