import { ChannelType, type GuildBasedChannel, type VoiceBasedChannel } from 'discord.js';

/**
 * Whether a guild channel is one the bot can join to speak or record, told by its type.
 * discord.js's own `isVoiceBased()` looks for a `bitrate` field, so a channel whose
 * payload lacks it would silently not count.
 */
export function isVoiceChannel(channel: GuildBasedChannel): channel is VoiceBasedChannel {
  return channel.type === ChannelType.GuildVoice || channel.type === ChannelType.GuildStageVoice;
}
