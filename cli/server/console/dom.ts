/**
 * Building the page with DOM calls only: text goes in as text (never parsed as HTML), and no
 * style attribute is ever written (the page's CSP allows neither inline script nor inline style).
 */
export type Child = Node | string | number | null | undefined | false;
type Value = string | number | boolean | null | undefined;
export type Props = Record<string, Value | ((event: Event) => void)>;

function apply(el: Element, props: Props, children: readonly Child[]): void {
  for (const [key, value] of Object.entries(props)) {
    if (typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    else if (value === true) el.setAttribute(key, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
}

/** An HTML element: attributes (`onclick` and the like add listeners), then children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, props, children);
  return el;
}

/** An SVG element (charts). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  apply(el, props, children);
  return el;
}

/** The element with this id (the page's fixed frame, index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`console: no #${id} in the page`);
  return el as T;
}

/** Replace an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  apply(el, {}, children);
}

/** True while the user types in a field (single-key shortcuts must not fire then). */
export function typing(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}
