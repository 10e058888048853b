// Application commands the bot registered (PUT bulk overwrite), globally or per guild.
import { nextSnowflake } from './ids.ts';
import type { Json } from './guild-state.ts';

export interface RegisteredCommand {
  readonly id: string;
  readonly name: string;
  /** null for global commands. */
  readonly guildId: string | null;
  /** Exactly what the bot sent for this command. */
  readonly body: Json;
}

export class CommandRegistry {
  /** Latest registration per scope ('global' or a guild id). */
  readonly byScope = new Map<string, RegisteredCommand[]>();
  /** How many bulk overwrites the bot made, per scope: detects re-registering on every start. */
  readonly putCount = new Map<string, number>();

  overwrite(applicationId: string, guildId: string | null, bodies: readonly Json[]): Json[] {
    const scope = guildId ?? 'global';
    const previous = this.byScope.get(scope) ?? [];
    const commands = bodies.map((body): RegisteredCommand => {
      const name = String(body['name']);
      // Discord keeps a command's id across overwrites when the name stays.
      const id = previous.find((c) => c.name === name)?.id ?? nextSnowflake();
      return { id, name, guildId, body };
    });
    this.byScope.set(scope, commands);
    this.putCount.set(scope, (this.putCount.get(scope) ?? 0) + 1);
    return commands.map((c) => ({
      type: 1,
      description: '',
      options: [],
      default_member_permissions: null,
      nsfw: false,
      ...c.body,
      id: c.id,
      application_id: applicationId,
      version: nextSnowflake(),
      ...(guildId ? { guild_id: guildId } : {}),
    }));
  }

  /** The id a command name got, preferring the guild registration. */
  idOf(name: string, guildId: string): string | undefined {
    const find = (scope: string): string | undefined => this.byScope.get(scope)?.find((c) => c.name === name)?.id;
    return find(guildId) ?? find('global');
  }

  all(): RegisteredCommand[] {
    return [...this.byScope.values()].flat();
  }
}
