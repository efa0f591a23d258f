export declare const CONSOLE_ASSETS_MODULE: 'policy-gate:console-assets';
export interface ConsoleAsset {
  readonly type: string;
  readonly etag: string;
  readonly body: string;
}
export declare function buildConsoleAssets(): Promise<Record<string, ConsoleAsset>>;
export declare function consoleAssetsModule(): Promise<string>;
