// The fake's interaction clocks: a first response after the deadline is refused as Discord
// refuses it (10062), and the interaction's webhook stops working when its token expires (50027).
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { DISCORD_DEADLINES, startFakeDiscord } from './index.ts';

test("Discord's own clocks by default: 3 s to respond, 15 minutes of token", () => {
  assert.deepEqual(DISCORD_DEADLINES, { responseMs: 3_000, tokenLifetimeMs: 15 * 60_000 });
});

test("a first response after the deadline is refused; edits after the token's life are refused", async () => {
  const discord = await startFakeDiscord({ interactionDeadlines: { responseMs: 300, tokenLifetimeMs: 800 } });
  try {
    const api = `${discord.restUrl}/v10`;
    const member = discord.state.addMember('gus');
    const post = (path: string, method: string, body: unknown) =>
      fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const answered = discord.interactions.slashCommand({ name: 'voice', userId: member.id }).interaction;
    assert.equal((await post(`/interactions/${answered.id}/${answered.token}/callback`, 'POST', { type: 4, data: { content: 'hi' } })).status, 204);
    assert.equal((await post(`/webhooks/${discord.applicationId}/${answered.token}/messages/@original`, 'PATCH', { content: 'edited' })).status, 200);

    const ignored = discord.interactions.slashCommand({ name: 'voice', userId: member.id }).interaction;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const late = await post(`/interactions/${ignored.id}/${ignored.token}/callback`, 'POST', { type: 4, data: { content: 'late' } });
    assert.equal(late.status, 404);
    assert.equal(((await late.json()) as { code: number }).code, 10062);

    await new Promise((resolve) => setTimeout(resolve, 500));
    const expired = await post(`/webhooks/${discord.applicationId}/${answered.token}/messages/@original`, 'PATCH', { content: 'too late' });
    assert.equal(expired.status, 401);
    assert.equal(((await expired.json()) as { code: number }).code, 50027);
    const followUp = await post(`/webhooks/${discord.applicationId}/${answered.token}`, 'POST', { content: 'too late' });
    assert.equal(followUp.status, 401);
  } finally {
    await discord.close();
  }
});

test("closed DMs: the bot's message to the member's DM channel is refused with 50007", async () => {
  const discord = await startFakeDiscord();
  try {
    const member = discord.state.addMember('ida');
    const dm = discord.openDm(member.id);
    discord.closeDms(member.id);
    const sent = await fetch(`${discord.restUrl}/v10/channels/${dm.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bot ${discord.token}` },
      body: JSON.stringify({ content: 'hello' }),
    });
    assert.equal(sent.status, 403);
    assert.equal(((await sent.json()) as { code: number }).code, 50007);
  } finally {
    await discord.close();
  }
});
