/** What a mark check says (`/verify`, `vocalis mark check`). Never "authentic": no mark proves nothing about a recording. */
export const mark = {
  'mark.synthetic_voice': 'Synthetic voice made by this Vocalis deployment: the voice of {owner}, created on {date}.',
  'mark.synthetic_deleted': 'Synthetic voice made by this Vocalis deployment: a voice that has since been deleted, created on {date}.',
  'mark.synthetic_unknown': 'Synthetic voice made by this Vocalis deployment. This excerpt is too short or too damaged to tell whose voice or when.',
  'mark.none':
    'No Vocalis mark found. That says nothing about whether the recording is genuine, only that this deployment did not make it or the mark did not survive.',
  'mark.unreadable': 'That file could not be read as audio.',
  'mark.needs_audio': 'Reply /verify to a voice message or an audio file, or attach one, to check it for a Vocalis mark.',
  'error.marked_sample': 'This recording carries a Vocalis mark: it is a synthetic voice, and a synthetic voice cannot be cloned again.',
  'discord.cmd.verify': "Check a clip for this server's Vocalis mark: is it a synthetic voice, and whose?",
  'discord.cmd.verify.file': 'An audio file or voice message to check',
  'discord.cmd.verify.message': 'A link to a message with an audio attachment',
  'discord.verify.bad_link': 'That is not a link to a message in this server.',
  'discord.verify.no_audio': 'That message has no audio attachment.',
} as const;
