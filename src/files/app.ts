import type { Application } from '../application.js';
import type { Config } from '../config/config.js';
import { SystemEvent } from '../codes.js';
import { createFileStore } from './index.js';
import { uploadRoutes } from './routes.js';

/**
 * Uploads (`POST /realtime/binary/upload`, `GET /realtime/binary/files/:id`),
 * announced as `file.uploaded` on UPLOAD_CHANNEL. Part of the core: the routes
 * sit under `/realtime/`, the settings are the gateway's, and every embedding
 * gets them; registered through the application interface like any
 * application, so the core names no upload channel of its own.
 *
 * No `migrations`: the PostgreSQL store migrates its table on first use, so a
 * gateway that never stores a file never waits for the database.
 */
export function uploadsApp(
  config: Pick<Config, 'uploadChannel' | 'uploadMaxBytes' | 'databaseUrl' | 'dataDir'>,
): Application {
  return {
    name: 'uploads',
    // A user's own channel (UPLOAD_CHANNEL=user:<id>) is the core's, server-owned already.
    channels: config.uploadChannel.startsWith('user:') ? [] : [{ pattern: config.uploadChannel, publish: 'server' }],
    events: [SystemEvent.fileUploaded],
    async setup(ctx) {
      const files = createFileStore(config, () => ctx.database(), ctx.log);
      await ctx.http.register(uploadRoutes, {
        publisher: ctx.publisher,
        files,
        maxBytes: config.uploadMaxBytes,
        channel: config.uploadChannel,
        guard: ctx.serverApiGuard,
      });
    },
  };
}
