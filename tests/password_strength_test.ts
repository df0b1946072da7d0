/** lib/server/password_strength.ts: serve refuses guessable room passwords and warns about weak ones. */
import { assertEquals } from "./_assert.ts";
import { passwordProblem } from "../lib/server/password_strength.ts";

Deno.test("room passwords under 8 characters, or among the first guessed, are refused", () => {
  for (const password of ["a", "abc1234", "Password", "12345678", "héllo"]) {
    assertEquals(passwordProblem(password)?.refuse, true, password);
  }
});

Deno.test("short or simple passwords get a warning; long passphrases none", () => {
  assertEquals(passwordProblem("abcdefgh")?.refuse, false);
  assertEquals(passwordProblem("aaaaaaaaaaaaaaaaaaaa")?.refuse, false);
  assertEquals(passwordProblem("Kx7!mQ2pZ"), null);
  assertEquals(passwordProblem("correct horse battery staple"), null);
  assertEquals(passwordProblem("我们的聊天室密码很长很长"), null);
});
