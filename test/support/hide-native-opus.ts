import { registerHooks } from 'node:module';

/**
 * Loaded with `node --import`: @discordjs/opus cannot be resolved, by import or require,
 * as on a host without a compiler where npm dropped the optional native addon.
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === '@discordjs/opus' || specifier.startsWith('@discordjs/opus/')) {
      throw Object.assign(new Error(`Cannot find module '${specifier}' (hidden: no native Opus on this host)`), { code: 'MODULE_NOT_FOUND' });
    }
    return nextResolve(specifier, context);
  },
});
