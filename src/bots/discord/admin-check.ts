import { PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js';

/**
 * May this member act as an admin of the guild (/consent, stopping anyone's speech)?
 * Manage Server, or the configured admin role (by id or by name).
 */
export function isGuildAdmin(interaction: ChatInputCommandInteraction, adminRole: string | undefined): boolean {
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  if (!adminRole) return false;
  const member = interaction.member;
  if (!member) return false;
  const roleIds: readonly string[] = Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  if (roleIds.includes(adminRole)) return true;
  const guildRoles = interaction.guild?.roles.cache;
  return roleIds.some((id) => guildRoles?.get(id)?.name === adminRole);
}
