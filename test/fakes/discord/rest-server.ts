// The fake Discord REST API (v10) plus a CDN path for attachments, on one node:http handler.
// Every request is recorded; unknown routes answer 404 and are listed so tests can assert
// the bot called nothing unexpected.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommandRegistry } from './commands.ts';
import { ChannelType, type FakeChannel, type GuildState, type Json } from './guild-state.ts';
import { parseBody, sendBytes, sendEmpty, sendError, sendJson, type ParsedBody } from './http-util.ts';
import { nextSnowflake } from './ids.ts';
import { InteractionCallbackType, type FakeInteraction, type InteractionRegistry } from './interactions.ts';
import type { MessageStore, StoredMessage, UploadedFile } from './messages.ts';
import { WaitableLog } from './waitable-log.ts';

export interface RestRequestRecord {
  readonly method: string;
  /** Path below /api/v10 (or the full path for CDN and unknown routes). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Name of the matched route, e.g. 'POST /channels/:id/messages'; null when unknown. */
  readonly route: string | null;
  readonly body: Json | undefined;
  readonly files: readonly UploadedFile[];
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  status: number;
  readonly at: number;
}

export interface RestDependencies {
  readonly token: string;
  readonly applicationId: string;
  /** The first guild: it holds the bot and application owner. */
  readonly guild: GuildState;
  /** Every guild of the fake (the first one included), for routes that name a guild or channel. */
  readonly guilds: () => readonly GuildState[];
  /** What GET /gateway/bot recommends as the shard count. */
  readonly recommendedShards: () => number;
  /** GET /gateway/bot's `session_start_limit.max_concurrency`. */
  readonly maxConcurrency: () => number;
  readonly messages: MessageStore;
  readonly interactions: InteractionRegistry;
  readonly commands: CommandRegistry;
  readonly gatewayUrl: () => string;
  /** Lets a test see bot-authored channel messages as they are created or edited. */
  readonly onBotMessage: (message: StoredMessage) => void;
}

interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: readonly string[];
  readonly body: ParsedBody;
  readonly query: URLSearchParams;
}

interface Route {
  readonly name: string;
  readonly method: string;
  readonly pattern: RegExp;
  /** Interaction callbacks and webhooks are authenticated by the token in the URL instead. */
  readonly needsBotAuth: boolean;
  /** CDN routes live outside /api/v10. */
  readonly isCdn: boolean;
  readonly handle: (ctx: RouteContext) => number | Promise<number>;
}

const API_PREFIX = '/api/v10';

export class FakeRest {
  readonly requests = new WaitableLog<RestRequestRecord>('a REST request');
  readonly unknownRoutes: RestRequestRecord[] = [];
  readonly #deps: RestDependencies;
  readonly #routes: Route[];

  constructor(deps: RestDependencies) {
    this.#deps = deps;
    this.#routes = this.#buildRoutes();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = req.method ?? 'GET';
    let body: ParsedBody;
    try {
      body = await parseBody(req);
    } catch (error: unknown) {
      sendError(res, 400, 50109, `The request body contains invalid JSON: ${String(error)}`);
      return;
    }
    const isApi = url.pathname.startsWith(API_PREFIX);
    // discord.js percent-encodes segments such as '@original'.
    const decoded = url.pathname
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/');
    const path = isApi ? decoded.slice(API_PREFIX.length) : decoded;
    const record: RestRequestRecord = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      route: null,
      body: body.json,
      files: body.files,
      headers: req.headers,
      status: 0,
      at: Date.now(),
    };
    const match = this.#match(method, path, isApi);
    if (!match) {
      record.status = 404;
      this.unknownRoutes.push(record);
      this.requests.push(record);
      sendError(res, 404, 0, `404: Not Found (fake discord has no route ${method} ${url.pathname})`);
      return;
    }
    const { route, params } = match;
    const finalRecord: RestRequestRecord = { ...record, route: route.name };
    if (route.needsBotAuth && req.headers.authorization !== `Bot ${this.#deps.token}`) {
      finalRecord.status = 401;
      this.requests.push(finalRecord);
      sendError(res, 401, 0, '401: Unauthorized');
      return;
    }
    try {
      finalRecord.status = await route.handle({ req, res, params, body, query: url.searchParams });
    } catch (error: unknown) {
      finalRecord.status = 500;
      if (!res.headersSent) sendError(res, 500, 0, `fake discord route failed: ${String(error)}`);
    }
    this.requests.push(finalRecord);
  }

  #match(method: string, path: string, isApi: boolean): { route: Route; params: string[] } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      if (route.isCdn === isApi) continue;
      const m = route.pattern.exec(path);
      if (m) return { route, params: m.slice(1).map((p) => p ?? '') };
    }
    return undefined;
  }

  #buildRoutes(): Route[] {
    const d = this.#deps;
    const seg = '([^/]+)';
    const route = (method: string, template: string, handle: Route['handle'], needsBotAuth = true, isCdn = false): Route => {
      const pattern = new RegExp(`^${template.replace(/:[a-z]+/g, seg)}/?$`);
      return { name: `${isCdn ? 'CDN ' : ''}${method} ${template}`, method, pattern, needsBotAuth, isCdn, handle };
    };
    return [
      route('GET', '/gateway/bot', ({ res }) => {
        sendJson(res, 200, {
          url: d.gatewayUrl(),
          shards: d.recommendedShards(),
          session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: d.maxConcurrency() },
        });
        return 200;
      }),
      route(
        'GET',
        '/gateway',
        ({ res }) => {
          sendJson(res, 200, { url: d.gatewayUrl() });
          return 200;
        },
        false,
      ),
      route('GET', '/users/@me', ({ res }) => {
        sendJson(res, 200, d.guild.userJson(d.guild.bot));
        return 200;
      }),
      route('GET', '/applications/@me', ({ res }) => {
        sendJson(res, 200, this.#applicationJson());
        return 200;
      }),
      route('PUT', '/applications/:app/commands', (ctx) => this.#putCommands(ctx, null)),
      route('PUT', '/applications/:app/guilds/:guild/commands', (ctx) => this.#putCommands(ctx, ctx.params[1] ?? null)),
      route('GET', '/applications/:app/commands', ({ res }) => {
        sendJson(res, 200, []);
        return 200;
      }),
      route('POST', '/interactions/:id/:token/callback', (ctx) => this.#interactionCallback(ctx), false),
      route('GET', '/webhooks/:app/:token/messages/@original', (ctx) => this.#getOriginal(ctx), false),
      route('PATCH', '/webhooks/:app/:token/messages/@original', (ctx) => this.#editOriginal(ctx), false),
      route('DELETE', '/webhooks/:app/:token/messages/@original', (ctx) => this.#deleteOriginal(ctx), false),
      route('POST', '/webhooks/:app/:token', (ctx) => this.#followUp(ctx), false),
      route('PATCH', '/webhooks/:app/:token/messages/:message', (ctx) => this.#editFollowUp(ctx), false),
      route('POST', '/channels/:channel/messages', (ctx) => this.#createMessage(ctx)),
      route('PATCH', '/channels/:channel/messages/:message', (ctx) => this.#editMessage(ctx)),
      route('GET', '/channels/:channel/messages/:message', (ctx) => this.#getMessage(ctx)),
      route('POST', '/channels/:channel/typing', ({ res }) => {
        sendEmpty(res);
        return 204;
      }),
      route('GET', '/channels/:channel', (ctx) => this.#getChannel(ctx)),
      route('POST', '/users/@me/channels', (ctx) => this.#openDm(ctx)),
      route('GET', '/guilds/:guild/members/:user', (ctx) => this.#getMember(ctx)),
      route('GET', '/attachments/:id/:filename', (ctx) => this.#downloadAttachment(ctx), false, true),
    ];
  }

  #applicationJson(): Json {
    const d = this.#deps;
    return {
      id: d.applicationId,
      name: d.guild.bot.username,
      icon: null,
      description: 'fake application',
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: '0'.repeat(64),
      flags: 0,
      owner: d.guild.userJson(d.guild.owner),
      team: null,
      bot: d.guild.userJson(d.guild.bot),
    };
  }

  #putCommands(ctx: RouteContext, guildId: string | null): number {
    const items = ctx.body.json?.['items'];
    if (!Array.isArray(items)) {
      sendError(ctx.res, 400, 50035, 'Invalid Form Body');
      return 400;
    }
    const bodies = items.filter((x): x is Json => typeof x === 'object' && x !== null);
    sendJson(ctx.res, 200, this.#deps.commands.overwrite(this.#deps.applicationId, guildId, bodies));
    return 200;
  }

  /** The interaction behind a webhook token; answers 404 / 401 itself when there is none or it expired. */
  #interactionFromToken(ctx: RouteContext, tokenIndex: number): FakeInteraction | undefined {
    const interaction = this.#deps.interactions.byToken.get(ctx.params[tokenIndex] ?? '');
    if (!interaction) {
      sendError(ctx.res, 404, 10015, 'Unknown Webhook');
      return undefined;
    }
    if (!this.#deps.interactions.tokenValid(interaction)) {
      sendError(ctx.res, 401, 50027, 'Invalid Webhook Token');
      return undefined;
    }
    return interaction;
  }

  #interactionCallback(ctx: RouteContext): number {
    const [id, token] = ctx.params;
    const interaction = this.#deps.interactions.byId.get(id ?? '');
    if (!interaction || interaction.token !== token) {
      sendError(ctx.res, 404, 10062, 'Unknown interaction');
      return 404;
    }
    const d = this.#deps;
    if (!d.interactions.canRespond(interaction)) {
      // Past the 3 s deadline Discord has already shown "The application did not respond".
      sendError(ctx.res, 404, 10062, 'Unknown interaction');
      return 404;
    }
    const alreadyAnswered = d.interactions.responses.find((r) => r.interactionId === interaction.id);
    if (alreadyAnswered) {
      sendError(ctx.res, 400, 40060, 'Interaction has already been acknowledged.');
      return 400;
    }
    const type = Number(ctx.body.json?.['type']);
    const data = ctx.body.json?.['data'];
    const dataJson = typeof data === 'object' && data !== null ? (data as Json) : undefined;
    d.interactions.responses.push({ interactionId: interaction.id, type, data: dataJson, files: ctx.body.files, at: Date.now() });
    let message: StoredMessage | undefined;
    if (type === InteractionCallbackType.ChannelMessageWithSource || type === InteractionCallbackType.DeferredChannelMessageWithSource) {
      message = d.messages.create(interaction.channelId, d.guild.bot, dataJson ?? {}, ctx.body.files, {
        webhookId: d.applicationId,
        interactionId: interaction.id,
      });
      interaction.originalMessage = message;
    } else if (type === InteractionCallbackType.UpdateMessage && interaction.sourceMessage) {
      message = d.messages.edit(interaction.sourceMessage, dataJson ?? {}, ctx.body.files);
      interaction.originalMessage = message;
    } else if (type === InteractionCallbackType.DeferredUpdateMessage && interaction.sourceMessage) {
      interaction.originalMessage = interaction.sourceMessage;
    }
    if (ctx.query.get('with_response') !== 'true') {
      sendEmpty(ctx.res);
      return 204;
    }
    const flags = typeof dataJson?.['flags'] === 'number' ? dataJson['flags'] : 0;
    sendJson(ctx.res, 200, {
      interaction: {
        id: interaction.id,
        type: interaction.type,
        activity_instance_id: null,
        response_message_id: message?.id ?? null,
        response_message_loading: type === InteractionCallbackType.DeferredChannelMessageWithSource,
        response_message_ephemeral: (flags & 64) === 64,
      },
      resource: { type, ...(message ? { message: d.messages.messageJson(message, this.#guildOfChannel(message.channelId)) } : {}) },
    });
    return 200;
  }

  #originalOf(interaction: FakeInteraction): StoredMessage {
    const d = this.#deps;
    interaction.originalMessage ??= d.messages.create(interaction.channelId, d.guild.bot, {}, [], {
      webhookId: d.applicationId,
      interactionId: interaction.id,
    });
    return interaction.originalMessage;
  }

  #getOriginal(ctx: RouteContext): number {
    const interaction = this.#interactionFromToken(ctx, 1);
    if (!interaction) return ctx.res.statusCode;
    sendJson(ctx.res, 200, this.#deps.messages.messageJson(this.#originalOf(interaction), this.#guildOfChannel(interaction.channelId)));
    return 200;
  }

  #editOriginal(ctx: RouteContext): number {
    const interaction = this.#interactionFromToken(ctx, 1);
    if (!interaction) return ctx.res.statusCode;
    const d = this.#deps;
    const message = d.messages.edit(this.#originalOf(interaction), ctx.body.json ?? {}, ctx.body.files);
    d.interactions.webhookCalls.push({
      interactionId: interaction.id,
      kind: 'editOriginal',
      body: ctx.body.json,
      files: ctx.body.files,
      messageId: message.id,
      at: Date.now(),
    });
    sendJson(ctx.res, 200, d.messages.messageJson(message, this.#guildOfChannel(message.channelId)));
    return 200;
  }

  #deleteOriginal(ctx: RouteContext): number {
    const interaction = this.#interactionFromToken(ctx, 1);
    if (!interaction) return ctx.res.statusCode;
    const d = this.#deps;
    const messageId = interaction.originalMessage?.id ?? '';
    d.messages.messages.delete(messageId);
    d.interactions.webhookCalls.push({ interactionId: interaction.id, kind: 'deleteOriginal', body: undefined, files: [], messageId, at: Date.now() });
    sendEmpty(ctx.res);
    return 204;
  }

  #followUp(ctx: RouteContext): number {
    const interaction = this.#interactionFromToken(ctx, 1);
    if (!interaction) return ctx.res.statusCode;
    const d = this.#deps;
    const message = d.messages.create(interaction.channelId, d.guild.bot, ctx.body.json ?? {}, ctx.body.files, {
      webhookId: d.applicationId,
      interactionId: interaction.id,
    });
    d.interactions.webhookCalls.push({
      interactionId: interaction.id,
      kind: 'followUp',
      body: ctx.body.json,
      files: ctx.body.files,
      messageId: message.id,
      at: Date.now(),
    });
    sendJson(ctx.res, 200, d.messages.messageJson(message, this.#guildOfChannel(message.channelId)));
    return 200;
  }

  #editFollowUp(ctx: RouteContext): number {
    const interaction = this.#interactionFromToken(ctx, 1);
    if (!interaction) return ctx.res.statusCode;
    const d = this.#deps;
    const message = d.messages.messages.get(ctx.params[2] ?? '');
    if (!message) {
      sendError(ctx.res, 404, 10008, 'Unknown Message');
      return 404;
    }
    d.messages.edit(message, ctx.body.json ?? {}, ctx.body.files);
    d.interactions.webhookCalls.push({
      interactionId: interaction.id,
      kind: 'editFollowUp',
      body: ctx.body.json,
      files: ctx.body.files,
      messageId: message.id,
      at: Date.now(),
    });
    sendJson(ctx.res, 200, d.messages.messageJson(message, this.#guildOfChannel(message.channelId)));
    return 200;
  }

  /** The guild a channel (or DM channel) belongs to; the first guild when none has it. */
  #guildOfChannel(channelId: string): GuildState {
    return this.#deps.guilds().find((g) => g.channels.has(channelId)) ?? this.#deps.guild;
  }

  #channelOr404(ctx: RouteContext): FakeChannel | undefined {
    const channel = this.#guildOfChannel(ctx.params[0] ?? '').channels.get(ctx.params[0] ?? '');
    if (!channel) sendError(ctx.res, 404, 10003, 'Unknown Channel');
    return channel;
  }

  #createMessage(ctx: RouteContext): number {
    const channel = this.#channelOr404(ctx);
    if (!channel) return 404;
    const d = this.#deps;
    if (channel.type === ChannelType.DM && channel.recipientId !== undefined && this.#guildOfChannel(channel.id).closedDms.has(channel.recipientId)) {
      sendError(ctx.res, 403, 50007, 'Cannot send messages to this user');
      return 403;
    }
    const message = d.messages.create(channel.id, d.guild.bot, ctx.body.json ?? {}, ctx.body.files);
    d.onBotMessage(message);
    sendJson(ctx.res, 200, d.messages.messageJson(message, this.#guildOfChannel(message.channelId)));
    return 200;
  }

  #editMessage(ctx: RouteContext): number {
    const d = this.#deps;
    const message = d.messages.messages.get(ctx.params[1] ?? '');
    if (!message || message.channelId !== ctx.params[0]) {
      sendError(ctx.res, 404, 10008, 'Unknown Message');
      return 404;
    }
    if (message.author.id !== d.guild.bot.id) {
      sendError(ctx.res, 403, 50005, 'Cannot edit a message authored by another user');
      return 403;
    }
    d.messages.edit(message, ctx.body.json ?? {}, ctx.body.files);
    d.onBotMessage(message);
    sendJson(ctx.res, 200, d.messages.messageJson(message, this.#guildOfChannel(message.channelId)));
    return 200;
  }

  #getMessage(ctx: RouteContext): number {
    const d = this.#deps;
    const message = d.messages.messages.get(ctx.params[1] ?? '');
    if (!message || message.channelId !== ctx.params[0]) {
      sendError(ctx.res, 404, 10008, 'Unknown Message');
      return 404;
    }
    sendJson(ctx.res, 200, d.messages.messageJson(message, this.#guildOfChannel(message.channelId)));
    return 200;
  }

  #getChannel(ctx: RouteContext): number {
    const channel = this.#channelOr404(ctx);
    if (!channel) return 404;
    sendJson(ctx.res, 200, this.#guildOfChannel(channel.id).channelJson(channel));
    return 200;
  }

  #openDm(ctx: RouteContext): number {
    const d = this.#deps;
    const recipientId = ctx.body.json?.['recipient_id'];
    // A DM channel is kept with the first guild the recipient is a member of.
    const guild = typeof recipientId === 'string' ? d.guilds().find((g) => g.members.has(recipientId)) : undefined;
    if (typeof recipientId !== 'string' || !guild) {
      sendError(ctx.res, 400, 50033, 'Invalid Recipient(s)');
      return 400;
    }
    let channel = [...guild.channels.values()].find((c) => c.type === ChannelType.DM && c.recipientId === recipientId);
    if (!channel) {
      channel = { id: nextSnowflake(), type: ChannelType.DM, name: '', recipientId };
      guild.channels.set(channel.id, channel);
    }
    sendJson(ctx.res, 200, guild.channelJson(channel));
    return 200;
  }

  #getMember(ctx: RouteContext): number {
    const d = this.#deps;
    const guild = d.guilds().find((g) => g.id === ctx.params[0]);
    const user = guild?.members.get(ctx.params[1] ?? '');
    if (!guild || !user) {
      sendError(ctx.res, 404, 10007, 'Unknown Member');
      return 404;
    }
    sendJson(ctx.res, 200, guild.memberJson(user));
    return 200;
  }

  #downloadAttachment(ctx: RouteContext): number {
    const attachment = this.#deps.messages.attachments.get(ctx.params[0] ?? '');
    if (!attachment) {
      sendError(ctx.res, 404, 0, 'Not Found');
      return 404;
    }
    sendBytes(ctx.res, attachment.data, attachment.contentType);
    return 200;
  }
}
