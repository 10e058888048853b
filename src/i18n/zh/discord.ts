/** Messages only the Discord adapter shows (zh). Shared wording belongs in core.ts. */
export const discord = {
} as const;
