/** Messages only the Discord adapter shows (en). Shared wording belongs in core.ts. */
export const discord = {
} as const;
