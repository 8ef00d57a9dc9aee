import { hashPasswordsCheaplyForTests } from '../access/passwords.js';

// Every test file's process hashes the passwords it makes at a low scrypt cost (see the function):
// `src/access/passwords.test.ts` checks the real cost in a module loaded afresh.
hashPasswordsCheaplyForTests();
