/**
 * The model's StoredEvent carries the stored bytes as a Node Buffer; they never reach the
 * browser, but the type has to resolve for the console to use the model's other types.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
interface Buffer extends Uint8Array {}
