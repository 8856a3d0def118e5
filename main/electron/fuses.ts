/**
 * Electron fuses of the packaged app: switches compiled into the Electron binary that no
 * environment variable or command-line flag can turn back on.
 *
 * - RunAsNode off: ELECTRON_RUN_AS_NODE=1 cannot turn the signed app into a plain Node.
 * - EnableNodeOptionsEnvironmentVariable / EnableNodeCliInspectArguments off: NODE_OPTIONS and
 *   --inspect cannot inject code into the main process.
 * - EnableCookieEncryption on: cookies on disk are encrypted with the OS keychain's key.
 * - OnlyLoadAppFromAsar on, EnableEmbeddedAsarIntegrityValidation on: the app runs only from its
 *   (integrity-checked) app.asar, never from a loose app/ folder placed beside it.
 * - GrantFileProtocolExtraPrivileges off: file:// gets no privileges (the app loads app://).
 *
 * Where they are applied: on the packaged binary, after packing and before signing. This project
 * has no packager configured yet (`npm run build` only builds out/); the packager's after-pack
 * hook calls `applyFuses`:
 *   electron-builder (electron-builder.yml):  afterPack: ./out/main/after-pack.cjs, a two-line file
 *     that does `require('@electron/fuses')` and calls applyFuses(context, fuses) from this module;
 *   electron-forge: `new FusesPlugin({ version: FuseVersion.V1, ...FUSE_SETTINGS })`.
 * The @electron/fuses module is passed in (it is a packaging-time dependency, not the app's).
 */

/** The fuse settings, by @electron/fuses' FuseV1Options names. */
export const FUSE_SETTINGS = {
  RunAsNode: false,
  EnableCookieEncryption: true,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  GrantFileProtocolExtraPrivileges: false,
} as const;

/** The parts of @electron/fuses used here. */
export interface FusesModule {
  readonly FuseVersion: { readonly V1: string | number };
  readonly FuseV1Options: Readonly<Record<keyof typeof FUSE_SETTINGS, string | number>>;
  flipFuses(electronPath: string, config: Record<string | number, unknown>): Promise<unknown>;
}

/** The parts of electron-builder's AfterPackContext used here. */
export interface AfterPackContext {
  readonly appOutDir: string;
  readonly electronPlatformName: string;
  readonly packager: { readonly appInfo: { readonly productFilename: string }; readonly executableName?: string };
}

/** The packaged Electron binary an after-pack hook must flip. */
export function packagedBinary(context: AfterPackContext): string {
  const name = context.packager.appInfo.productFilename;
  switch (context.electronPlatformName) {
    case 'darwin':
    case 'mas':
      return `${context.appOutDir}/${name}.app/Contents/MacOS/${name}`;
    case 'win32':
      return `${context.appOutDir}/${name}.exe`;
    default:
      return `${context.appOutDir}/${context.packager.executableName ?? name}`;
  }
}

/** Flips FUSE_SETTINGS on the packaged binary (an after-pack hook; macOS builds re-sign ad hoc). */
export async function applyFuses(context: AfterPackContext, fuses: FusesModule): Promise<void> {
  const config: Record<string | number, unknown> = { version: fuses.FuseVersion.V1 };
  for (const [name, value] of Object.entries(FUSE_SETTINGS)) config[fuses.FuseV1Options[name as keyof typeof FUSE_SETTINGS]] = value;
  if (context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas') config.resetAdHocDarwinSignature = true;
  await fuses.flipFuses(packagedBinary(context), config);
}
