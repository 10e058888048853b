/** Messages only the Telegram adapter shows (en). Shared wording belongs in core.ts. */
export const telegram = {
  'telegram.start':
    'Hello! I can make an AI copy of your voice — only with your consent, and you can delete it at any time.\n\n/clone — read the consent notice and start\n/help — all commands',
  'telegram.help':
    "Commands:\n/clone — consent notice; after you agree, send voice messages reading the script\n/speak <text> — I answer with a voice note in your AI voice\n/voice — your consent, sample and voice; /voice share or /voice private — who may use it\n/speak as a reply to someone's message — their voice, if they shared it\n/delete — revoke your consent and delete your recordings and voice at once\n/revoke — (group admins) reply to a member's message to delete their voice in this group\n/verify — reply to a voice note: is it a Vocalis AI voice, and whose\n\nIn groups, send voice messages as replies to my messages: with group privacy mode I only see those.",
  'telegram.record_prompt': 'Now send voice messages (or audio files) reading the script aloud. Only speech counts; I tell you after each one how much I have.',
  'telegram.record_prompt_group': 'In this group, send each voice message as a reply to one of my messages: with privacy mode on, I see nothing else.',
  'telegram.voice_without_consent': 'I did not keep this voice message: there is no active consent for your voice. Start with /clone and agree first.',
  'telegram.voice_offer_pending': 'I did not keep this voice message: please press "I agree" under the consent notice first.',
  'telegram.file_too_big': 'I did not keep this file: bots can download at most {max} MB. Send a shorter voice message.',
  'telegram.file_unavailable': 'I could not download this file. Please send it again.',
  'telegram.clip_refused': 'I did not keep this recording.',
  'telegram.speak_usage': 'Write the text after the command, for example: /speak Hello everyone',
  'telegram.status_none': 'You have no consent or voice here. Start with /clone.',
  'telegram.status': 'Consent {consentId}: {state} (scope: chat {scope}).\nSample: {net} of {target} s of speech in {clips} recording(s).\nVoice: {voice}.',
  'telegram.voice_none': 'not created yet',
  'telegram.voice_state': '{state}, version {version}',
  'telegram.revoke_usage': "Reply to a member's message with /revoke to delete their voice in this group.",
  'telegram.revoke_group_only': "/revoke works in groups, as a reply to the member's message. To delete your own voice, use /delete.",
  'telegram.revoked_member': 'The voice of {name} was revoked in this chat.',
  'telegram.button_stale': 'This button is no longer valid.',
  'telegram.button_done': 'Done.',
  'telegram.voice_shared':
    'Anyone in the chat where you gave consent can now make your voice speak, with /speak as a reply to one of your messages. /voice private undoes this.',
  'telegram.voice_private': 'Only you can make your voice speak now.',
  'telegram.command.clone': 'Consent notice and start cloning your voice',
  'telegram.command.speak': 'Say a text in your AI voice',
  'telegram.command.voice': 'Your consent, sample and voice',
  'telegram.command.delete': 'Revoke consent and delete your voice',
  'telegram.command.revoke': "Admins: revoke a member's voice (reply to them)",
  'telegram.command.verify': 'Reply to a voice note: is it a Vocalis AI voice, and whose?',
  'telegram.command.help': 'All commands',
} as const;
