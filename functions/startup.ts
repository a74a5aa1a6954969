// Registration of the start-up check: the app says at once when the PostgreSQL client tools or zstd are missing,
// instead of failing its first backup.
import { app } from '@azure/functions';
import { getConfig } from '../shared/config';
import { missingToolsWarning, parsePgBinDirs } from '../shared/adapters/postgres/pg-binaries';

app.hook.appStart(async () => {
  let binDirs: string;
  try {
    binDirs = getConfig().PG_BIN_DIRS;
  } catch {
    return; // invalid settings are reported where they are used, with the setting's name
  }
  const warning = await missingToolsWarning({ extraDirs: parsePgBinDirs(binDirs) });
  if (warning !== undefined) console.warn(warning);
});
