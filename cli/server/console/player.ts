/** The asciinema player and its style, a separate file loaded only when a recording is played. */
import { create } from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';

export { create };
