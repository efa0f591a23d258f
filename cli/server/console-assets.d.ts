/** The built web console, embedded by the bundler (scripts/console-assets.mjs): file name → asset. */
declare module 'policy-gate:console-assets' {
  const assets: Readonly<Record<string, { readonly type: string; readonly etag: string; readonly body: string }>>;
  export default assets;
}
