// @ts-check
// A page that does not exist: only the header, so that the visitor can go on from there.

import { start } from '../shared.js';

start();
