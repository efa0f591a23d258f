/**
 * A reviewer's passkeys: register one (WebAuthn; the server keeps its public key) and list them.
 * With a passkey, every decision from this console is signed by it.
 */
import {
  browserSupportsWebAuthn,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
} from '@simplewebauthn/browser';
import { get, post } from './api.js';
import { fill, h } from './dom.js';
import { dateTime } from './format.js';
import type { Passkey, Whoami } from './types.js';
import { errorText, me, notify, setMe } from './ui.js';

export class PasskeysView {
  private readonly list = h('ul', { class: 'passkeys', id: 'passkey-list' });
  private readonly status = h('p', { class: 'decide-error', role: 'alert', id: 'passkey-status' });

  mount(main: HTMLElement): void {
    const who = me();
    const canRegister = who.reviewer !== null;
    fill(
      main,
      h(
        'section',
        { class: 'passkeys-view', 'aria-label': 'Passkeys' },
        h('h2', {}, 'Passkeys'),
        h(
          'p',
          {},
          'A passkey signs your decisions: the console asks it to sign the exact decision statement (its SHA-256 is the ',
          'WebAuthn challenge), and the trail keeps the signature, so anyone can check later that you decided, and what.',
        ),
        h('p', { class: 'muted' }, `Relying party ${who.rp.id} at ${who.rp.origin}.`),
        canRegister
          ? h(
              'button',
              { type: 'button', class: 'primary', id: 'register', onclick: () => void this.register() },
              'Register a passkey',
            )
          : h('p', { class: 'muted' }, `${who.identity} is not a reviewer: only reviewers register passkeys.`),
        this.status,
        h('h3', {}, 'Registered'),
        this.list,
      ),
    );
    void this.refresh();
  }

  unmount(): void {}

  private async refresh(): Promise<void> {
    try {
      const items = me().reviewer ? await get<readonly Passkey[] | { items: readonly Passkey[] }>('/v1/passkeys') : [];
      const keys = Array.isArray(items) ? items : (items as { items: readonly Passkey[] }).items;
      fill(
        this.list,
        ...(keys.length
          ? keys.map((k) =>
              h(
                'li',
                {},
                h('code', { class: 'one-line' }, k.credential_id),
                h('span', { class: 'muted' }, `registered ${dateTime(k.registered_at)}`),
              ),
            )
          : [h('li', { class: 'empty' }, 'None yet.')]),
      );
    } catch (err) {
      this.status.textContent = errorText(err);
    }
  }

  private async register(): Promise<void> {
    if (!browserSupportsWebAuthn()) {
      this.status.textContent =
        'This browser has no WebAuthn (open the console at http://localhost:PORT, not an IP address).';
      return;
    }
    this.status.textContent = '';
    try {
      const optionsJSON = await post<PublicKeyCredentialCreationOptionsJSON>('/v1/passkeys/registration/options');
      const response = await startRegistration({ optionsJSON });
      const saved = await post<Passkey>('/v1/passkeys/registration', { response });
      setMe(await get<Whoami>('/v1/whoami'));
      notify(`Passkey registered (${saved.credential_id.slice(0, 12)}…)`, 'ok');
      await this.refresh();
    } catch (err) {
      this.status.textContent = `Not registered: ${errorText(err)}`;
    }
  }
}
