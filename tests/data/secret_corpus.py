"""Secrets in natural sentences, and ordinary text that holds none: in English, German,
French, Spanish, Russian, Chinese and Japanese, in full-width characters and with
invisible characters inside.

Every key below is made up in the shape of the real thing (test values where the vendor
publishes some: AKIAIOSFODNN7EXAMPLE, 4111 1111 1111 1111, DE89 3704 ...).
`Secret.leaks` are the strings that must not survive masking: the value itself, and for
a passphrase each of its words, so a half-masked passphrase counts as a leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Secret:
    kind: str
    sentence: str
    value: str
    words: tuple[str, ...] = field(default=())

    @property
    def leaks(self) -> tuple[str, ...]:
        return (self.value, *self.words)

    @property
    def stands_alone(self) -> bool:
        """Whether the value is recognisable without the words around it (a key's format,
        a checksum): only those can be masked where nothing names them (a message name)."""
        if self.kind == "ssn":  # 9 digits in a row are too common to be taken for one
            return not self.value.isdigit()
        cued = {
            "password", "passphrase", "wifi", "pin", "cvv", "code", "url", "bearer", "token",
            "seed", "codes", "curl", "command", "passport",
        }  # fmt: skip
        return self.kind not in cued


def s(kind: str, sentence: str, value: str, *words: str) -> Secret:
    assert sentence.count(value) == 1, sentence
    return Secret(kind, sentence, value, words)


_RSA = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8VPqsFGHbB7kJ4xzPq2Xn0ZfL\n"
    "q8vJwQ0rT7LmNn3Yk5pXbVcR1sD2fG4hJ6kL8mN0pQ2rS4tU6vW8xY0zA2bC4dE6\n"
    "-----END RSA PRIVATE KEY-----"
)
_OPENSSH = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBq7Zb0kQh3Xv9YcT2Lm4Wn8Rs5Pd1Ae6Gf0Hj3Kl9MxwAAAJhVyQ2TVckN\n"
    "-----END OPENSSH PRIVATE KEY-----"
)
_EC = (
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oG7ksw2S5ZJ9oAoGCCqGSM49\n"
    "AwEHoUQDQgAEXq9Zk2Ld8Wm4Pq7Ry1Ts3Uv5Wx7Yz9Ab0Cd2Ef4Gh6Ij8Kl0Mn2Op4\n"
    "-----END EC PRIVATE KEY-----"
)
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ik"
    "pvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)

SECRETS: list[Secret] = [
    # --- tables: a column under a header that names a secret, a key | value row
    s(
        "password",
        "| service | user | password |\n|---|---|---|\n| github | bob | hunter2xyz |",
        "hunter2xyz",
    ),
    s("password", "| site | Passwort |\n|---|---|\n| gmx | sunshine |", "sunshine"),
    s("pin", "| card | **PIN** |\n| --- | --- |\n| visa | `4821` |", "4821"),
    s("token", "service | api key\n--- | ---\nopenai | Qz7mN2xL9pK4aa", "Qz7mN2xL9pK4aa"),
    s(
        "password",
        "| field | value |\n|---|---|\n| user | bob |\n| password | Orchid4455 |",
        "Orchid4455",
    ),
    s("pin", "| PIN | 9137 |", "9137"),
    s("password", "service,user,password\ngithub,bob,hunter2xyz\ngitlab,ann,Tulip99x", "Tulip99x"),
    s("password", 'site;"db password";port\nprod;"Mango77 Sunset";5432', "Mango77 Sunset"),
    s("cvv", "card\tcvv\nvisa\t737", "737"),
    # --- a name that holds a secret's word, then = or : (env files, JSON, INI)
    s("password", "MYSQL_ROOT_PASSWORD=Hunter2root", "Hunter2root"),
    s("password", "docker run -e POSTGRES_PASSWORD=marigold postgres", "marigold"),
    s("token", "export REDIS_AUTH_TOKEN=abc123def456", "abc123def456"),
    s("pin", '{"pin": "5930"}', "5930"),
    s("cvv", '{"card": "visa", "cvv": 418}', "418"),
    s("code", '{"otp": "649213"}', "649213"),
    s("password", "[smtp]\npass = Smtp9pass", "Smtp9pass"),
    s("password", '{"db": {"user": "bob", "pass": "Db7secret"}}', "Db7secret"),
    s("password", "db.example.com:5432:app:bob:Pg9secret", "Pg9secret"),
    s("wifi", 'network={\n  ssid="Home"\n  psk="Wpa7Home2"\n}', "Wpa7Home2"),
    s("password", "| site | password |\r\n|---|---|\r\n| gmx | Crlf7Table |\r\n", "Crlf7Table"),
    s("password", "site,user,password\ngmail,bob,x1Blank\n\nyahoo,al,Blank9Line", "Blank9Line"),
    s("password", "site,user,password\na,b,c,d\nyahoo,al,Extra5Field", "Extra5Field"),
    # --- vendor keys and tokens
    s("aws", "My AWS access key is AKIAIOSFODNN7EXAMPLE, keep it safe.", "AKIAIOSFODNN7EXAMPLE"),
    s("aws", "The temporary key ASIAY34FZKBOKMUTVV7A expires tonight.", "ASIAY34FZKBOKMUTVV7A"),
    s(
        "aws",
        "Our aws secret access key is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY for the bucket.",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    s(
        "github",
        "Use ghp_16C7e42F292c6912E7710c838347Ae178B4a to push to the repo.",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    s(
        "github",
        "The CI token github_pat_11ABCDEFG0aBcDeFgHiJkL_MnOpQrStUvWxYz0123456789abcdefghijKLMN"
        " was rotated.",
        "github_pat_11ABCDEFG0aBcDeFgHiJkL_MnOpQrStUvWxYz0123456789abcdefghijKLMN",
    ),
    s(
        "github",
        "The OAuth app got gho_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa9876 yesterday.",
        "gho_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa9876",
    ),
    s("gitlab", "My GitLab token: glpat-xR4bT7nQ2mK9pL5vW8zY", "glpat-xR4bT7nQ2mK9pL5vW8zY"),
    s(
        "gitlab",
        "The runner uses glrt-2CR8_eVxiioB1QmzPZwa and nothing else.",
        "glrt-2CR8_eVxiioB1QmzPZwa",
    ),
    s(
        "slack",
        "The bot token is xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx.",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    s(
        "slack",
        "Post alerts to https://hooks.slack.com/services/T024BE7LD/B01ABCD2EFG/"
        "k2JfYq8Rm3TnVw7Xz1Cd5Gh9 please.",
        "T024BE7LD/B01ABCD2EFG/k2JfYq8Rm3TnVw7Xz1Cd5Gh9",
    ),
    s(
        "slack",
        "I pasted xoxp-2210535565-4417592012-9183746501-ab12cd34ef56ab78cd90 in the doc.",
        "xoxp-2210535565-4417592012-9183746501-ab12cd34ef56ab78cd90",
    ),
    s(
        "stripe",
        "Charge with sk_live_51HqT2xKJ8mN3pQ7rS9tV2wX4yZ6 in production.",
        "sk_live_51HqT2xKJ8mN3pQ7rS9tV2wX4yZ6",
    ),
    s(
        "stripe",
        "For tests we use sk_test_4eC39HqLyjWDarjtT1zdp7dc on staging.",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    ),
    s(
        "stripe",
        "The restricted key rk_live_9aB8cD7eF6gH5iJ4kL3mN2oP1q reads charges only.",
        "rk_live_9aB8cD7eF6gH5iJ4kL3mN2oP1q",
    ),
    s(
        "stripe",
        "The webhook secret is whsec_Mx7Tq2Rv9Ks4Lp8Nz3Wb6Yc1Hd5Gf0Jk, I think.",
        "whsec_Mx7Tq2Rv9Ks4Lp8Nz3Wb6Yc1Hd5Gf0Jk",
    ),
    s(
        "openai",
        "My OpenAI key is sk-proj-Xb4Ti9Kq2Lm7Np3Rs8Vw1Yz6Ac5Df0Gh4Jk9Mn2Pq7Rt3Uv8Wx today.",
        "sk-proj-Xb4Ti9Kq2Lm7Np3Rs8Vw1Yz6Ac5Df0Gh4Jk9Mn2Pq7Rt3Uv8Wx",
    ),
    s(
        "openai",
        "An older key: sk-Fh3kT9bQm2Wx7Lp4Rz8T3BlbkFJNv6Yc1Jd5Gs0Hk2Mn4Pq",
        "sk-Fh3kT9bQm2Wx7Lp4Rz8T3BlbkFJNv6Yc1Jd5Gs0Hk2Mn4Pq",
    ),
    s(
        "openai",
        "api key:\n• sk-proj-Rt3Uv8WxXb4Ti9Kq2Lm7Np3Rs8Vw1Yz6Ac5Df0Gh4Jk9Mn2Pq7",
        "sk-proj-Rt3Uv8WxXb4Ti9Kq2Lm7Np3Rs8Vw1Yz6Ac5Df0Gh4Jk9Mn2Pq7",
    ),
    s(
        "anthropic",
        "Set ANTHROPIC_API_KEY to sk-ant-api03-Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8Vb7Nm6Qw5Er4T"
        "y3Ui2Op1As0Df-9Gh8Jk7AA before you run it.",
        "sk-ant-api03-Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8Vb7Nm6Qw5Er4Ty3Ui2Op1As0Df-9Gh8Jk7AA",
    ),
    s(
        "anthropic",
        "The admin key sk-ant-admin01-Zx1Cv2Bn3Mq4Wr5Ty6Ui7Op8As9Df0Gh1Jk2Lz3 is in vault.",
        "sk-ant-admin01-Zx1Cv2Bn3Mq4Wr5Ty6Ui7Op8As9Df0Gh1Jk2Lz3",
    ),
    s(
        "google",
        "The Maps API key is AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY for the website.",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    ),
    s(
        "google",
        "Google gave me ya29.a0AfH6SMBx7Qk2Lp9Rm4Tn8Vw3Yz1Cd5Fg0Hj and it works.",
        "ya29.a0AfH6SMBx7Qk2Lp9Rm4Tn8Vw3Yz1Cd5Fg0Hj",
    ),
    s(
        "google",
        "Our OAuth client secret GOCSPX-4Tq8Wm2Rz7Kp1Lx9Vn3Bc6Hd0Jf leaked once.",
        "GOCSPX-4Tq8Wm2Rz7Kp1Lx9Vn3Bc6Hd0Jf",
    ),
    s(
        "huggingface",
        "Download with hf_Qa7Ws2Ed4Rf6Tg8Yh0Uj1Ik3Ol5Pz9Xc7Vb on the server.",
        "hf_Qa7Ws2Ed4Rf6Tg8Yh0Uj1Ik3Ol5Pz9Xc7Vb",
    ),
    s(
        "npm",
        "Publish using npm_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3 from CI.",
        "npm_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3",
    ),
    s(
        "sendgrid",
        "Mail goes out with 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"
        " on our side.",
        "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",
    ),
    s(
        "twilio",
        "Twilio key SK2a9f8e7d6c5b4a3928170f6e5d4c3b2a used by the SMS job.",
        "SK2a9f8e7d6c5b4a3928170f6e5d4c3b2a",
    ),
    s("jwt", f"Here is my session JWT {_JWT} from the login.", _JWT),
    s(
        "bearer",
        "The call needs Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543 to work.",
        "8f14e45fceea167a5a36dedd4bea2543",
    ),
    s(
        "bearer",
        "curl -H 'Authorization: Bearer kT9mQ2xL7pR4vN8wZ3bY6cF1' https://api.example.com",
        "kT9mQ2xL7pR4vN8wZ3bY6cF1",
    ),
    s(
        "token",
        "my api token is 7f3c9a1e5b2d8f4a6c0e9b3d7a1f5c2e for the dashboard",
        "7f3c9a1e5b2d8f4a6c0e9b3d7a1f5c2e",
    ),
    s(
        "token",
        "The refresh token: Rt-98XkLmq2Pz7Wv4Ns1Bc6 has no expiry.",
        "Rt-98XkLmq2Pz7Wv4Ns1Bc6",
    ),
    # --- private keys
    s("private key", f"This is the deploy key:\n{_RSA}\nDo not share it.", _RSA),
    s("private key", f"My ssh key is\n{_OPENSSH}", _OPENSSH),
    s("private key", f"The signing key follows. {_EC} That is all.", _EC),
    # --- URLs with credentials
    s(
        "url",
        "Connect to postgres://app_user:Tr0ub4dor&3x@db.internal:5432/prod for reports.",
        "Tr0ub4dor&3x",
    ),
    s(
        "url",
        "The cache is at redis://:s3cretRedisPw@cache.local:6379/0 now.",
        "s3cretRedisPw",
    ),
    s(
        "url",
        "Clone from https://alice:letmein2024@git.example.com/team/repo.git tonight.",
        "letmein2024",
    ),
    s(
        "url",
        "Fetch https://api.example.com/v1/data?format=json&api_key=ZmFrZWtleTEyMzQ1Njc4 daily.",
        "ZmFrZWtleTEyMzQ1Njc4",
    ),
    s(
        "url",
        "Mongo lives at mongodb+srv://admin:Pl4tyPus!99@cluster0.mongodb.net/test",
        "Pl4tyPus!99",
    ),
    # --- payment cards, every spacing
    s("card", "My Visa is 4111 1111 1111 1111, expiry 09/27.", "4111 1111 1111 1111"),
    s("card", "Card number 4111.1111.1111.1111 was declined.", "4111.1111.1111.1111"),
    s("card", "Please charge 4012-8888-8888-1881 for the hotel.", "4012-8888-8888-1881"),
    s("card", "The Mastercard 5555555555554444 is the company one.", "5555555555554444"),
    s("card", "Use 5105 1051 0510 5100 for the deposit.", "5105 1051 0510 5100"),
    s("card", "My Amex is 3782 822463 10005 and it expires soon.", "3782 822463 10005"),
    s("card", "The other Amex, 371449635398431, is my wife's.", "371449635398431"),
    s("card", "Discover card 6011-1111-1111-1117 on file.", "6011-1111-1111-1117"),
    s("card", "JCB: 3530.1113.3330.0000 for the trip to Osaka.", "3530.1113.3330.0000"),
    s("card", "Diners Club 3056 930902 5904 still works.", "3056 930902 5904"),
    s("card", "The new Mastercard is 2223 0031 2200 3222.", "2223 0031 2200 3222"),
    s("card", "An old 13-digit Visa 4222222222222 from 2009.", "4222222222222"),
    s("card", "Pay with 4111 - 1111 - 1111 - 1111 today.", "4111 - 1111 - 1111 - 1111"),
    s("card", "Card – 5555–5555–5555–4444 – on file.", "5555–5555–5555–4444"),
    s("card", "Typed as 4012-8888 8888-1881 on the form.", "4012-8888 8888-1881"),
    s("card", "Copied 5105\t1051\t0510\t5100 from the sheet.", "5105\t1051\t0510\t5100"),
    s("card", "Visa 4111 1111  1111 1111/12 for the hotel.", "4111 1111  1111 1111"),
    # --- IBANs, compact and in groups of four
    s("iban", "Rent to DE89 3704 0044 0532 0130 00 by Friday.", "DE89 3704 0044 0532 0130 00"),
    s("iban", "My IBAN is DE89370400440532013000.", "DE89370400440532013000"),
    s("iban", "Pay GB82 WEST 1234 5698 7654 32 and keep it.", "GB82 WEST 1234 5698 7654 32"),
    s("iban", "The UK account GB82WEST12345698765432 is closed.", "GB82WEST12345698765432"),
    s("iban", "IBAN: FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
    s("iban", "Dutch account NL91ABNA0417164300 for salary.", "NL91ABNA0417164300"),
    s("iban", "Spain: ES91 2100 0418 4502 0005 1332, thanks!", "ES91 2100 0418 4502 0005 1332"),
    s("iban", "Italian one: IT60X0542811101000000123456.", "IT60X0542811101000000123456"),
    s("iban", "Swiss IBAN CH93 0076 2011 6238 5295 7 at UBS.", "CH93 0076 2011 6238 5295 7"),
    s("iban", "Belgian account BE71096123456769 for the deposit.", "BE71096123456769"),
    s("iban", "Poland: PL61 1090 1014 0000 0712 1981 2874.", "PL61 1090 1014 0000 0712 1981 2874"),
    # --- US social security numbers
    s("ssn", "My SSN is 536-22-1234, please update the form.", "536-22-1234"),
    s("ssn", "Her social security number 412 67 8901 is on the letter.", "412 67 8901"),
    s("ssn", "SSN: 287654321 for the tax return.", "287654321"),
    s("ssn", "The W-2 lists 219-45-7812 as his number.", "219-45-7812"),
    # --- PINs, CVVs, codes
    s("pin", "My PIN is 4821.", "4821"),
    s("pin", "My PIN is:\n4821", "4821"),
    s("pin", "the pin is:\n  1. 4821", "4821"),  # a list item: its number is not the PIN
    s("pin", "The PIN for my debit card is 7395, don't tell anyone.", "7395"),
    s("pin", "pin code: 0415", "0415"),
    s("pin", "Phone unlock PIN 902716 if I lose it.", "902716"),
    s("cvv", "The CVV is 737 on the back.", "737"),
    s("cvv", "cvc: 4242", "4242"),
    s("cvv", "Card ending 1881, security code 319, expiry 11/26.", "319"),
    s("code", "The door code is 5529# at the back entrance.", "5529"),
    s("code", "Our garage code is 80417.", "80417"),
    s("code", "Your verification code is 483 920.", "483 920"),
    s("code", "My bank account number is 40817263 at Chase.", "40817263"),
    # --- passwords and passphrases
    s("password", "My password is hunter2.", "hunter2"),
    s(
        "password",
        'The tool said: "{\\"user\\": \\"bob\\", \\"password\\": \\"Gull-Ferry-31\\"}"',
        "Gull-Ferry-31",
    ),
    s("password", "<b>Password:</b> Orchid4455Lake", "Orchid4455Lake"),
    s("pin", "<strong>PIN</strong>: 7302", "7302"),
    s("password", "The admin password is:\nTulip-Harbor-88", "Tulip-Harbor-88"),
    # the value as the item of a list on the next line: the item's number or bullet is not it
    s("password", "password:\n3. Zq9xT!pw7", "Zq9xT!pw7"),
    s("password", "password:\n- Zq9xT!pw7", "Zq9xT!pw7"),
    s("password", "password:\n* Zq9xT!pw7", "Zq9xT!pw7"),
    s("password", "password:\n1) Zq9xT!pw7", "Zq9xT!pw7"),
    s("password", "my password:\n\n3. Zq9xT!pw7", "Zq9xT!pw7"),
    s("password", "Passwort:\n1. Zq9xT!pw7", "Zq9xT!pw7"),
    s("password", "密码:\n1. Zq9xT!pw7", "Zq9xT!pw7"),
    # ... every item of a list after a cue of several, or one whose line ends with a colon
    s("password", "My passwords:\n1. Fj4&wQm2z\n2. Hx8!tLp3v", "Hx8!tLp3v", "Fj4&wQm2z"),
    s("password", "wifi and bank passwords:\n- hunter2Xy\n- Bq7#lmn0", "Bq7#lmn0", "hunter2Xy"),
    s("password", "my password:\n  * Rw5^kNe8q\n  * Tc2%vBy6m", "Tc2%vBy6m", "Rw5^kNe8q"),
    s("password", "Passwords:\n- Gmail: Lm3*xRt9w\n- Bank: Yp6@dQs1k", "Yp6@dQs1k", "Lm3*xRt9w"),
    s("pin", "PIN codes:\n1) 4821\n2) 9936", "9936"),
    s("token", "API keys\n• a8F3kL9mQ2xV7nB4\n• Qz7mN2xL9pK4wR", "Qz7mN2xL9pK4wR"),
    s("password", "密码:\n1. Vb7#pLm2q\n2. Nd4!sWe8r", "Nd4!sWe8r", "Vb7#pLm2q"),
    s("password", "password: Tr0ub4dor&3", "Tr0ub4dor&3"),
    s("password", "My email password is sunflower88, I always forget it.", "sunflower88"),
    s("password", "The admin password is 'P@ssw0rd!2024' on the NAS.", "P@ssw0rd!2024"),
    s("password", "My bank password was changed to BlueSky#77 yesterday.", "BlueSky#77"),
    s("password", "DB_PASSWORD=s3cr3t_Pa55 is in the env file.", "s3cr3t_Pa55"),
    s(
        "passphrase",
        "my password is correct horse battery staple",
        "correct horse battery staple",
        "correct",
        "horse",
        "battery",
        "staple",
    ),
    s(
        "passphrase",
        "My passphrase: purple elephant dancing quietly. Remember it.",
        "purple elephant dancing quietly",
        "purple",
        "elephant",
        "dancing",
        "quietly",
    ),
    s(
        "passphrase",
        "The seed phrase is abandon ability able about above absent absorb abstract.",
        "abandon ability able about above absent absorb abstract",
        "abandon",
        "ability",
        "absent",
        "absorb",
        "abstract",
    ),
    s("wifi", "The wifi password is purple-monkey-dishwasher.", "purple-monkey-dishwasher"),
    s(
        "wifi",
        "Wi-Fi password for the guest network is sunshine2023 and the name is Guest.",
        "sunshine2023",
    ),
    s("wifi", "wifi key: Xk92-LmQp-77", "Xk92-LmQp-77"),
    s("wifi", "Our WPA2 key is hB7kLm29qZ, the router is upstairs.", "hB7kLm29qZ"),
    s(
        "wifi",
        "The home wifi password is sleepy otter river, and the TV is on 5 GHz.",
        "sleepy otter river",
        "sleepy",
        "otter",
    ),
    # --- the value before its cue, "set ... to", curl
    s("password", "I use Fl0werP0t as my password for everything.", "Fl0werP0t"),
    s(
        "passphrase",
        "I use purple turtle sings as my email password.",
        "purple turtle sings",
        "purple",
        "turtle",
    ),
    s("password", "Zebra-Crossing-42 is my password.", "Zebra-Crossing-42"),
    s("password", "Can you set my email password to Marigold#31 please", "Marigold#31"),
    s("password", "Please set the router password to Gr33nTea! tonight.", "Gr33nTea!"),
    s("pin", "I changed my PIN to 6170 last week.", "6170"),
    s(
        "curl",
        "Run curl -u admin:Sup3rS3cret! https://api.internal/health to check it.",
        "Sup3rS3cret!",
    ),
    s("curl", "curl --user 'deploy:Zq8#wLp2' https://ci.example.com/api", "Zq8#wLp2"),
    # --- a command's password flag: mysql's glued to -p, sshpass, docker login, redis-cli
    s("command", "Load it with mysql -u root -pQuartz7Lemon shop < dump.sql", "Quartz7Lemon"),
    s("command", "mysql -uroot -p'Velvet9Harbor' -h db.internal shop", "Velvet9Harbor"),
    s("command", "Run mariadb -h db -u app -pCopper4Falcon app_prod", "Copper4Falcon"),
    s("command", "sshpass -p Maple6Orbit ssh deploy@10.0.0.5 uptime", "Maple6Orbit"),
    s("command", "docker login -u bob -p Nimbus8Prairie registry.example.com", "Nimbus8Prairie"),
    s("command", "podman login -u bob -p Tundra3Pebble quay.io", "Tundra3Pebble"),
    s("command", "helm registry login r.example.com -u bob -p Saffron5Glacier", "Saffron5Glacier"),
    s("command", "redis-cli -h cache -a Lantern2Meadow ping", "Lantern2Meadow"),
    # --- SQL: the password a user is created or altered with
    s("password", "CREATE USER 'bob'@'%' IDENTIFIED BY 'Cobalt6Willow';", "Cobalt6Willow"),
    s(
        "password",
        "ALTER USER bob IDENTIFIED WITH mysql_native_password BY 'Ember4Canyon';",
        "Ember4Canyon",
    ),
    s(
        "password",
        "GRANT ALL ON shop.* TO 'bob'@'%' IDENTIFIED BY 'Harbor9Thistle';",
        "Harbor9Thistle",
    ),
    s("password", "In Oracle: CREATE USER scott IDENTIFIED BY sunflowerfield;", "sunflowerfield"),
    s("password", "SET PASSWORD FOR 'bob'@'localhost' = 'Juniper3Comet';", "Juniper3Comet"),
    s("password", "SET PASSWORD FOR bob = PASSWORD('Marble8Sparrow');", "Marble8Sparrow"),
    # --- XML and name-value pairs of Kubernetes, compose, ECS
    s(
        "password",
        "<server><id>nexus</id><password>Orchid5Tundra</password></server>",
        "Orchid5Tundra",
    ),
    s("password", '<add key="DbPassword" value="Falcon2Ribbon" />', "Falcon2Ribbon"),
    s("password", "<Password>bluebirdsong</Password>", "bluebirdsong"),
    s("token", "<apiToken>k7Qm2Zp9Lx4W</apiToken>", "k7Qm2Zp9Lx4W"),
    s("password", "env:\n  - name: DB_PASSWORD\n    value: Pebble7Aurora", "Pebble7Aurora"),
    s("password", "env:\n  - name: SMTP_PASSWORD\n    value: meadowlark", "meadowlark"),
    s("password", '[{"name": "DB_PASSWORD", "value": "Willow4Quartz"}]', "Willow4Quartz"),
    # --- a short token after the Authorization header's name, session cookies
    s("bearer", "Send Authorization: Bearer q8Lm2Zx7Rt with it.", "q8Lm2Zx7Rt"),
    s("token", "Cookie: theme=dark; sessionid=Zx81kQm4Lp0vN7; lang=en", "Zx81kQm4Lp0vN7"),
    s("token", "Set-Cookie: session=Qv3nR8tK1mZx5Pw; Path=/; HttpOnly", "Qv3nR8tK1mZx5Pw"),
    # --- lists of codes: every code, not only the first
    s(
        "codes",
        "My recovery codes are 8412-5590, 3307-1846, 9921-0475 and 5518-2263.",
        "8412-5590, 3307-1846, 9921-0475 and 5518-2263",
        "8412-5590",
        "3307-1846",
        "9921-0475",
        "5518-2263",
    ),
    s(
        "codes",
        "GitHub backup codes:\n1. a1b2c-3d4e5\n2. f6a7b-8c9d0\n3. e1f2a-3b4c5\nKeep them.",
        "a1b2c-3d4e5\n2. f6a7b-8c9d0\n3. e1f2a-3b4c5",
        "a1b2c-3d4e5",
        "f6a7b-8c9d0",
        "e1f2a-3b4c5",
    ),
    # --- seed phrases: all 12 or 24 words, numbered or not, after commas
    s(
        "seed",
        "My wallet seed phrase: legal winner thank year wave sausage worth useful legal "
        "winner thank yellow",
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
        "sausage",
        "worth",
        "useful",
        "yellow",
    ),
    s(
        "seed",
        "Mnemonic: 1. scheme 2. spot 3. photo 4. card 5. baby 6. mountain 7. device 8. kick "
        "9. cradle 10. pact 11. join 12. borrow",
        "scheme 2. spot 3. photo 4. card 5. baby 6. mountain 7. device 8. kick 9. cradle "
        "10. pact 11. join 12. borrow",
        "scheme",
        "cradle",
        "borrow",
    ),
    s(
        "seed",
        "recovery phrase is letter, advice, cage, absurd, amount, doctor, acoustic, avoid, "
        "letter, advice, cage, above",
        "letter, advice, cage, absurd, amount, doctor, acoustic, avoid, letter, advice, cage, "
        "above",
        "absurd",
        "acoustic",
        "avoid",
    ),
    # --- cards hidden by zero-width spaces or written in full-width digits
    s(
        "card",
        "Card: 4111\u200b1111\u200b1111\u200b1111 for online orders.",
        "4111\u200b1111\u200b1111\u200b1111",
    ),
    s(
        "card",
        "カード番号は５５５５ ５５５５ ５５５５ ４４４４です。",
        "５５５５ ５５５５ ５５５５ ４４４４",
    ),
    s(
        "card",
        "Visa 4012\u200c8888\u200d8888\u20601881 on file.",
        "4012\u200c8888\u200d8888\u20601881",
    ),
    s("password", "pass\u00adword: Qu1ckBr0wnF0x", "Qu1ckBr0wnF0x"),
    s("password", "パスワード：ｈｕｎｔｅｒ２０２４", "ｈｕｎｔｅｒ２０２４"),
    # --- German
    s("password", "Mein Passwort ist Sonnenblume88.", "Sonnenblume88"),
    s(
        "wifi",
        "Das WLAN-Kennwort lautet Katze-Hund-42, sag es niemandem.",
        "Katze-Hund-42",
    ),
    s("password", "Ich habe mein Passwort auf Regenbogen42 geändert.", "Regenbogen42"),
    s("pin", "Meine PIN ist 3958.", "3958"),
    s("pin", "Die Geheimzahl meiner EC-Karte lautet 7214.", "7214"),
    s("passport", "Meine Reisepassnummer ist C01X00T47.", "C01X00T47"),
    # --- French
    s("password", "Mon mot de passe est tournesol77.", "tournesol77"),
    s("password", "J'ai changé mon mot de passe en Papillon#5.", "Papillon#5"),
    s("pin", "Le code PIN de ma carte est 9051.", "9051"),
    s("passport", "Mon numéro de passeport est 12AB34567.", "12AB34567"),
    # --- Spanish
    s("password", "Mi contraseña es girasol55.", "girasol55"),
    s("password", "Cambié mi contraseña a Mariposa!9 ayer.", "Mariposa!9"),
    s("pin", "El PIN de mi tarjeta es 6628.", "6628"),
    s("passport", "Mi número de pasaporte es XDA123456.", "XDA123456"),
    # --- Russian
    s("password", "Мой пароль: подсолнух88.", "подсолнух88"),
    s("password", "Я сменил пароль на Ромашка99.", "Ромашка99"),
    s("pin", "Мой ПИН-код 7788.", "7788"),
    s("passport", "Номер паспорта: 4509 123456.", "4509 123456"),
    # --- Chinese
    s("password", "我的密码是 Xiao9ming2024。", "Xiao9ming2024"),
    s("password", "我的银行卡密码是204816，别告诉别人。", "204816"),
    s("passport", "我的护照号码是E12345678。", "E12345678"),
    # --- Japanese
    s("password", "パスワードは「Sakura2024!」です。", "Sakura2024!"),
    s("pin", "暗証番号は5917です。", "5917"),
    s("passport", "パスポート番号：TK1234567", "TK1234567"),
    # a cue followed straight by its value, no "is" or colon; short forms of the cue word
    s("password", "Log in with password hunter2 tonight.", "hunter2"),
    s("password", "password swordfish9", "swordfish9"),
    s("password", "my passcode Xk9!pq, don't share it", "Xk9!pq"),
    s("password", "use pw Tr0ub4dor for the router", "Tr0ub4dor"),
    s("password", "The pswd Mango77 opens it.", "Mango77"),
    s("password", "my pword is Sunset42", "Sunset42"),
    s("password", "**Password** Orchid4455Lake", "Orchid4455Lake"),
    s("token", "call it with token 8f3kQ2pLm9Zx please", "8f3kQ2pLm9Zx"),
    # ... after a comma, a dash or a line break, or words that say what it opens
    s("password", "my password, Orchid4455Lake", "Orchid4455Lake"),
    s("wifi", "wifi password - Birch2024Tree", "Birch2024Tree"),
    s("password", "Password\nMango77Sunset", "Mango77Sunset"),
    s("password", "Password\n- Zq9xT!pw7", "Zq9xT!pw7"),
    s("token", "api key:\n• a8F3kL9mQ2xV7nB4", "a8F3kL9mQ2xV7nB4"),
    s("token", "app password:\n1. abcd efgh ijkl mnop", "abcd efgh ijkl mnop"),
    s("password", "my password for gmail Kiwi55Dune, keep it", "Kiwi55Dune"),
    s("password", "the password for my bank Pl4nt!Pot", "Pl4nt!Pot"),
    s("token", "app password qwbnmzxcvplkjhgf for the mail client", "qwbnmzxcvplkjhgf"),
    s("token", "My Gmail app password is abcd efgh ijkl mnop.", "abcd efgh ijkl mnop"),
    s("token", "license key ABCD-1234-EFGH-5678", "ABCD-1234-EFGH-5678"),
    s("passport", "passport number X1234567", "X1234567"),
    s("password", "pass: hunter22", "hunter22"),
    s("password", "wifi p/w Gr33nTea!", "Gr33nTea!"),
    s("token", "the deploy key Qz7mN2xL9pK4 expires soon", "Qz7mN2xL9pK4"),
    # "passport" or "combination" alone, then a number of its shape
    s("passport", "passport X1234567", "X1234567"),
    s("code", "the bike combination 12-34-56 then pull", "12-34-56"),
    # a password given by how it is used, an ordinary word
    s("password", "Connect with password sunshine, then open the app.", "sunshine"),
    s("password", "Log in with passcode tulip and wait.", "tulip"),
    s("password", "Connect with the wifi password Lemonade tonight.", "Lemonade"),
    s("password", "Enter password crocodile to continue.", "crocodile"),
    # ... or as one's own, at the start of a clause
    s("password", "Thanks! My password sunshine, my username dana.", "sunshine"),
    s("password", "Sure, and our wifi password Lemonade.", "Lemonade"),
    s("password", "Mon mot de passe soleil.", "soleil"),
    # a passphrase given straight after its cue, several words to the end of the clause
    s("password", "pass phrase correct horse battery staple.", "correct horse battery staple"),
    s("password", "Passphrase correct-horse-battery-staple.", "correct-horse-battery-staple"),
    s("password", "Our wifi passphrase purple monkey dishwasher, ok?", "purple monkey dishwasher"),
    s("password", "Unlock it with passphrase blue river stone and go.", "blue river stone"),
    # the old value too: "from X to Y", "X (old: Y)", "changed: X -> Y"
    s("password", "I changed my password from Cedar4Lantern to Maple7Harbor.", "Cedar4Lantern"),
    s("password", "I changed my password from Cedar4Lantern to Maple7Harbor.", "Maple7Harbor"),
    s("password", "wifi password: Maple7Harbor (old: Cedar4Lantern)", "Cedar4Lantern"),
    s("password", "Router password changed: Cedar4Lantern -> Maple7Harbor", "Cedar4Lantern"),
    s("pin", "My PIN is 4821 (was 9174).", "9174"),
    s("password", "You'll need the password, which is Cedar4Lantern.", "Cedar4Lantern"),
    # a user and a password after a cue of both
    s("password", "Credentials: bob / Cedar4Lantern", "Cedar4Lantern"),
    s("password", "login for the NAS: admin/Tr0ub4dor&3", "Tr0ub4dor&3"),
    # a lock's code named by what it opens; a security question's answer
    s("code", "The code to the safe is 4821.", "4821"),
    s("code", "the code for the front door is 7305", "7305"),
    s("code", "The combination to the lock is 12-34-56.", "12-34-56"),
    s("code", "unlock code: 2580", "2580"),
    s("password", "My security answer is fluffy.", "fluffy"),
    s("password", "security question answer: Springfield Elementary", "Springfield Elementary"),
    # chat forms: a curly apostrophe, "also", "has been", "...", an arrow, a typo
    s("password", "my password’s Tulip99x btw", "Tulip99x"),
    s("password", "my password is also Tulip99x", "Tulip99x"),
    s("password", "My password has always been Tulip99x.", "Tulip99x"),
    s("password", "ok so the password is... Tulip99x", "Tulip99x"),
    s("password", "password → Tulip99x", "Tulip99x"),
    s("password", "my gmail password? Tulip99x", "Tulip99x"),
    s("password", "my password - it's Tulip99x", "Tulip99x"),
    s("password", "my pasword is Tulip99x", "Tulip99x"),
    s("pin", "PIN# 4821", "4821"),
    s("code", "gate code #4417", "4417"),
    # a clause between the cue and its "is": who did what with it, in commas, where
    s("password", "the password I use for everything is sunflower", "sunflower"),
    s("password", "The password they gave me is bluebird.", "bluebird"),
    s("pin", "the pin I picked for the new card is 4821", "4821"),
    s("password", "The password, which I never change, is Tulip99x.", "Tulip99x"),
    s("password", "the wifi password here is sunflower", "sunflower"),
    s("password", "the password we use to log in is bluebird", "bluebird"),
    s("code", "the 2fa code they texted is 392817", "392817"),
    s("password", "my password used to be hunter2", "hunter2"),
    s("password", "my password (hunter2) stopped working", "hunter2"),
    # the value, then "that's my PIN"; a lock's number without "code"; a plain "the code"
    s("pin", "oh yeah 8362, that's my pin", "8362"),
    s("password", "Bramble55 - that's the password for the family computer", "Bramble55"),
    s("code", "the padlock is 0519", "0519"),
    s("code", "the gate's 1928 btw", "1928"),
    s("code", "oh and the code is 5516", "5516"),
    s("code", "he said the code was “4471”", "4471"),
    s("code", "the puk code is 91827364", "91827364"),
    s("password", "my mother's maiden name is Kowalski", "Kowalski"),
    s("password", "the old password was Penguin12 and the new one is Penguin13", "Penguin13"),
    s("pin", "my pin's 3390 and my husband's is 7705", "7705"),
    s("password", "The password that Netflix keeps rejecting is Popcorn2019", "Popcorn2019"),
    s("password", "write down my password somewhere: Octopus!Ink9", "Octopus!Ink9"),
    s("code", "der Code für die Haustür lautet 2791", "2791"),
    s("code", "the door code for grandma's place is 1950", "1950"),
    s("password", "Password for the kids' ipad is dinosaur", "dinosaur"),
    s("password", "the password for gmail's Xk9abc7", "Xk9abc7"),
    s("password", "my pass is m4rgarita", "m4rgarita"),
    s("password", "oh and the wifi is coconut99", "coconut99"),
    s("password", "I need you to store my password. It is K3ys&Lock5.", "K3ys&Lock5"),
    s("code", "my authentication code is 118273", "118273"),
    s("code", "the code from the text message is 904417", "904417"),
    s("code", "the code to get into the building is 5563#", "5563"),
    # a seed phrase straight after its cue, or after one that counts its words: 12 words
    s(
        "seed",
        "metamask secret recovery phrase gorilla vacant thumb ribbon muffin cable zebra island "
        "frost idea clamp lunar",
        "gorilla vacant thumb ribbon muffin cable zebra island frost idea clamp lunar",
    ),
    s(
        "seed",
        "my 12 words are ribbon muffin cable gravity mango shelf brick tunnel ocean frost idea "
        "clamp",
        "ribbon muffin cable gravity mango shelf brick tunnel ocean frost idea clamp",
    ),
    s("password", "my memorable place is Tintagel", "Tintagel"),
    s("code", "mfa token 830271 keeps getting rejected", "830271"),
    # a list of labelled values after a cue that names several
    s("pin", "my pins: visa 4408, mastercard 6619", "6619"),
    s("pin", "our PINs are 1234 and 5678", "5678"),
    s("password", "my passwords:\nnetflix - popcorn88\nspotify - Jazzhands1", "Jazzhands1"),
    s("password", "passwords: netflix Popcorn88, spotify Jazzhands1", "Jazzhands1"),
    s("code", "mon code de carte bleue est 6274", "6274"),
    s("code", "el código de verificación es 738120", "738120"),
    s("password", "Zugangsdaten: max.muster / Hafenkran7", "Hafenkran7"),
    # locks' codes, singular backup codes, licence keys
    s("code", "the keypad code is 4417", "4417"),
    s("code", "my locker combo is 12-34-56", "12-34-56"),
    s("code", "the lockbox code is 3390", "3390"),
    s("code", "backup code: 8412-5590", "8412-5590"),
    s("token", "my windows key is VK7JG-NPHTM-C97JM-9MPGT-3V66T", "VK7JG-NPHTM-C97JM-9MPGT-3V66T"),
    # bank accounts and national ids
    s("code", "acct # 40817263", "40817263"),
    s("code", "my checking account is 40817263", "40817263"),
    s("code", "sort code 20-00-00", "20-00-00"),
    s("code", "National Insurance number: AB123456C", "AB123456C"),
    s("code", "my NHS number is 943 476 5919", "943 476 5919"),
    s("code", "my driver's license number is D1234567", "D1234567"),
    s("code", "Meine Steuer-ID ist 12345678901.", "12345678901"),
    s("code", "for the payroll form, my SIN is 130 692 544", "130 692 544"),
    s("code", "Mijn BSN is 111222333, dat staat op mijn paspoort.", "111222333"),
    s("id", "Il mio codice fiscale è RSSMRA85T10A562S.", "RSSMRA85T10A562S"),
    s("id", "Para el contrato de alquiler: X1234567L", "X1234567L"),
    # password words of Dutch, Portuguese, Italian and Swedish; codes in German, Spanish
    # and French; national ids by cue or by their check digits
    s("password", "mijn wachtwoord is Fietsbel!42", "Fietsbel!42"),
    s("password", "a minha senha é Caju_Doce77", "Caju_Doce77"),
    s("password", "la password del wifi è Limone2023", "Limone2023"),
    s("password", "mitt lösenord är Granskog#55", "Granskog#55"),
    s("code", "der Code für den Tresor ist 8-31-62", "8-31-62"),
    s("code", "el código del garaje es 5530B", "5530B"),
    s("code", "le digicode de l'immeuble c'est 82C19", "82C19"),
    s("passport", "my passport no. 771204455, valid until 2031", "771204455"),
    s("code", "for the clinic form my NRIC is T0123456A", "T0123456A"),
    s("id", "para o cadastro: 529.982.247-25", "529.982.247-25"),
    # the value after the cue's sentence: "password? oh right, it's X"
    s("password", "What's my password? Oh right, it's Tern!Wing58", "Tern!Wing58"),
    s("pin", "do I forget my pin? its 7316 most days", "7316"),
    s("password", "the password to the NAS, which I rotated, is Marlin44Reef", "Marlin44Reef"),
    s("pin", "honestly 5582 is my atm pin btw", "5582"),
    # a list of labelled codes after a cue only before a list
    s("code", "our door codes:\nfront porch 8814\nback shed 3391", "8814", "3391"),
    s("code", "Gate codes:\n- north gate 66120\n- south gate 57702", "66120", "57702"),
    # a one-time code named by who sent it
    s("code", "the verification code google sent is 582047", "582047"),
    s("code", "the code Chase texted me is 441902, it expires soon", "441902"),
    # security questions, memorable words
    s("password", "the answer to my security question is Fluffy", "Fluffy"),
    s("password", "my memorable word is pumpkin", "pumpkin"),
    # other languages
    s("code", "Der Türcode ist 4417.", "4417"),
    s("code", "Le digicode c'est 4417B.", "4417B"),
    s("code", "El código de la puerta es 4417.", "4417"),
    s("code", "код от домофона 4417", "4417"),
    s("password", "Passwort fürs Handy ist Katze42", "Katze42"),
    s("code", "门禁码是 4417", "4417"),
    s("password", "支付密码 204816", "204816"),
    # a row naming a secret in a table of other columns: a value that looks generated
    s("password", "| Item | Notes |\n|---|---|\n| Password | Cedar4Lantern |", "Cedar4Lantern"),
    s(
        "token",
        "| Setting | Value | Notes |\n|---|---|---|\n| API key | Zq9xT2pw7Lm4 | prod |",
        "Zq9xT2pw7Lm4",
    ),
    # XML with the value first or in CDATA; a comment between a pair's name and value
    s("password", '<add value="Falcon2Ribbon" key="DbPassword" />', "Falcon2Ribbon"),
    s("password", "<password><![CDATA[Orchid5Tundra]]></password>", "Orchid5Tundra"),
    s(
        "password",
        "env:\n  - name: DB_PASSWORD\n    # rotated monthly\n    value: Pebble7Aurora",
        "Pebble7Aurora",
    ),
]

# Ordinary text: nothing here may be masked.
NEGATIVES: list[str] = [
    "The match ends 10:30:45:12:00 in the log",
    "ssid=Home psk=wpa2 band=5",
    "server:8080:api:v1:healthz and localhost:3000:GET:/api:200",
    "PASSWORD_RESET_ENABLED=true\nPASSWORD_MIN_LENGTH=12",
    # names of secrets given a reference to one, or a count
    "export OCTOMEM_MCP_API_KEY=\"$(python -c 'import secrets; print(secrets.token_hex())')\"",
    "DB_PASSWORD=$DB_PASS in the compose file",
    "LLM_MAX_TOKENS=4096 and MY_TOKEN_COUNT=5",
    'pass = ok, "pass": "yes", {"pin": "the same as before"}',
    # tables that name secrets without holding one
    "| name | password policy |\n|---|---|\n| admin | 12 chars, rotate yearly |",
    "| setting | default |\n|---|---|\n| password length | 12 |\n| token lifetime | 3600 |",
    "| field | type | required |\n|---|---|---|\n| password | string | yes |",
    "| Parameter | Description |\n|---|---|\n| api_key | Your API key from the dashboard |",
    "| Key | Action |\n|---|---|\n| Ctrl+C | copy |\n| Ctrl+V | paste |",
    "| token | id |\n|---|---|\n| hello | 15339 |",
    "| student | pass |\n|---|---|\n| bob | yes |",
    "| site | password |\n|---|---|\n| gmail | in the vault |\n| bank | same as gmail |",
    "| Model | Max tokens | Price |\n|---|---|---|\n| gpt-4o | 128000 | $5 |",
    "| Secret Santa | Gift |\n|---|---|\n| Bob | Socks |",
    "name,password_policy,pin_length\nadmin,strict,4",
    "id,token_count,max_tokens\n1,500,100",
    "user,is_password_set,last_login\nbob,true,2024-01-01",
    "Tokens, passwords, and keys are all different.\nKeep them apart, please.",
    "password, pin\nok, done",
    "It was 3 | 4 in the final | a close match.",
    "My passphrase entry screen froze. The passphrase field looks empty. My passphrase got "
    "rejected again today. Passphrase reset link expired. My passphrase simple and short.",
    "Remember: passphrase length beats complexity. My pass phrase has four random words.",
    "Keep my password safe. Is my password visible? They locked my password away.",
    "My password expired. My password works. I need my password back, somehow.",
    "Set it up with a password manager, or log in with password authentication.",
    "Protect the file with password protection enabled; try password reset first.",
    "Using passwords everywhere is risky, so enter password regularly.",
    "Sign in with password linked to your email, or log in with password normally.",
    "Type passphrase slowly. Enter password twice to confirm it. Use password salts.",
    "Use pwd to print the working directory. Log in with password verification on.",
    "I moved to Berlin on 2024-05-01 and started the new job on 12/05/2023.",
    "My order number is 1234-5678-90 and it ships tomorrow.",
    "The laptop costs $1,299.99 and the bag €49,50.",
    "The meeting is at 10:30, then lunch at 12:45:00.",
    "We upgraded to Python 3.11.4 and Django 5.0.2 last week.",
    "She was born in 1987 and moved in 2015.",
    "Send it to 10 Downing Street, London SW1A 2AA.",
    "The ZIP code 90210 is in Beverly Hills, and 10001-1234 is New York.",
    "The ISBN is 978-3-16-148410-0, also written 9783161484100.",
    "Call me on +1 (555) 123-4567 or 555-123-4567.",
    "I ran 5 km in 27 minutes and 3 seconds.",
    "The commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39 fixed the bug.",
    "Request id 123e4567-e89b-12d3-a456-426614174000 failed.",
    "The UPS tracking number is 1Z999AA10123456784.",
    "Invoice INV-2024-000123 was paid on 3 March.",
    "The population of New York is 8,336,817.",
    "The timestamp 1700000000000 is in milliseconds.",
    "The Eiffel Tower is at 48.8584, 2.2945.",
    "I forgot my password again and had to reset it.",
    "The password is on the fridge.",
    # a list after a cue that names no secret, or after one whose item gives none
    "Shopping list:\n1. milk\n2. eggs",
    "To do:\n- call mom\n* buy 2 apples\n3) pay rent\n• water the plants",
    "How to find your PIN:\n1. Open the app.\n2. Tap Card.",
    "Password tips:\n- Use a manager\n- Turn on 2FA",
    "API keys:\n- rotate them monthly\n- never commit them",
    "Door codes:\n- change them yearly\n- share them with no one",
    "Keys:\n- Ctrl+C copies\n- Ctrl+V pastes",
    "PIN codes are printed on the letter.",
    "Password managers are really useful for families.",
    "I changed my password, Tom, so ask me for the new one.",
    "Forgot password - Reset it from the login page.",
    "The password for the Wi-Fi is on the fridge, next to the menu.",
    "I need the password for my iPhone, it locked me out.",
    "Passwords\nUse a manager and turn on two-factor sign-in.",
    "The app password page lists every device you signed in from.",
    "My license key came in the email from Adobe.",
    "The passport number field is on page 2 of the form.",
    "Key 2024 results: revenue up, churn down.",
    "* Daily pass: £4.50 (bus and tram)\n* Monthly pass: $156.00",
    "Status:\nIn Progress\nKey:\nCHS52223992\nSummary:\nUpdate storage",
    "You need to pass level 12 first, then the boss fight.",
    "The key takeaway from Q3 was the new pricing.",
    "My PIN is the same as my old one.",
    "He gave me a token of appreciation after the talk.",
    "The secret ingredient is love, my grandmother said.",
    "Pin the tweet and share the link.",
    "The security code on the door is broken.",
    "Read https://docs.python.org/3/library/asyncio-task.html#asyncio.TaskGroup first.",
    "Watch https://www.youtube.com/watch?v=dQw4w9WgXcQ tonight.",
    "The flight BA 2490 leaves from gate 12 at 07:05.",
    "Room 4B, floor 3, building 7.",
    "The recipe needs 250 g flour, 2 eggs and 100 ml milk.",
    "Version v2.14.3-rc1 broke the 64-bit build.",
    "Our account number with the supplier is on the invoice.",
    "The temperature was -3 degrees on 01.02.2024.",
    "The combination of flavors is great.",
    "Call 0800 123 4567 for support, lines open 9-17.",
    "My login is broken since the update.",
    "The token expired, so I logged in again.",
    "The invoice total was 1 234 567 forint.",
    "Reference 2024/05/0001 and case 77-1234-55.",
    "The API key is in the vault, ask Sam.",
    "The run set max_tokens: 150000 and reported token_count: 123456.",
    # phrasings close to the new cues
    "I use 1Password as my password manager.",
    "That is my password, not yours.",
    "He set the table to eight places and changed the music.",
    "I changed my mind about the password policy.",
    "The seed of the apple was small.",
    "The mnemonic device helped me remember the planets.",
    "My recovery codes are in the safe.",
    "Backup codes are printed on paper.",
    "Use curl -u alice https://example.com and type the password when asked.",
    "The passenger checked the compass and pinned the spinner.",
    "Log in with the password provided.",
    "My passport expires in 2027.",
    "His passport 20190315 issued date?",
    "Try the combination 4-4-2 formation.",
    "Winning combination 7 7 7 on the slot machine.",
    "The winning combination 4 times in a row.",
    "Use a combination of 12 characters.",
    "A copy of your passport\n3. A letter from the university",
    # other languages
    "Das Passwort ist falsch, bitte versuche es noch einmal.",
    "Ich habe mein Passwort vergessen.",
    "Meine PIN ist die gleiche wie vorher.",
    "Der Passagier im Zug las einen Kompass.",
    "Mon mot de passe est trop court.",
    "J'ai oublié mon mot de passe hier.",
    "Numéro de passeport : voir la photocopie.",
    "Mi contraseña es muy segura.",
    "Olvidé mi contraseña del correo.",
    "La clave del éxito es la paciencia.",
    "Mi PIN es el mismo de siempre.",
    "Я забыл пароль от почты.",
    "Пароль неверный, попробуйте ещё раз.",
    "密码错误，请重试。",
    "请输入您的密码。",
    "我的密码是我的生日。",
    "パスワードを忘れました。",
    "パスワードは8文字以上にしてください。",
    # full-width and invisible characters that hide nothing
    "電話番号は０３－１２３４－５６７８です。",
    "２０２４年５月１日に東京へ引っ越しました。",
    "Family: \U0001f468\u200d\U0001f469\u200d\U0001f467 at the beach, x² + y² = z².",
    "The ﬁle is in the café\u00ad's back room.",
    # a cue word followed by an ordinary word
    "The password manager I use is great.",
    "Click the password reset link we sent.",
    "I changed my password 2 times this year.",
    "**Password manager**: use one for every site.",
    "We won the token 2024 award.",
    "**Key West Garden** is lovely in May.",
    "We shared the secret 7-layer dip.",
    "It uses a private key 2048-bit RSA scheme.",
    "The token USDC/ETH pair fell today.",
    # commands, SQL, XML, name-value pairs and headers that give no secret
    "ssh -p 2222 bob@host.example.com",
    "docker run -p 8080:80 nginx",
    "docker run --name mysql -p3306:3306 -d mysql:8",
    "psql -h db -p 5432 app",
    "mysql -u root -p",
    "mysql -u root -p shop < dump.sql",
    "mysql -p$MYSQL_PWD app",
    "sshpass -f ~/.pw ssh deploy@host",
    "echo $PW | docker login -u bob --password-stdin registry.example.com",
    "redis-cli -h localhost -p 6380 ping",
    "The suspect was identified by 'a witness' at the scene.",
    "Grant them access identified by their badge.",
    "Grant access to guests identified by wristbands at the door.",
    "<password-policy>12 characters</password-policy>",
    "<title>Password reset</title>",
    "<token>hello</token>",
    "<secret>The answer is 42</secret>",
    '<add key="Timeout" value="30" />',
    "env:\n  - name: DB_HOST\n    value: db.internal",
    "- name: PASSWORD_MIN_LENGTH\n  value: 12",
    "- name: DB_PASSWORD\n  value: ${DB_PASSWORD}",
    "Cookie: theme=dark; lang=en",
    "Set-Cookie: sessionid=deleted; Max-Age=0",
    "Authorization: Bearer <token>",
    "I changed the meeting from Monday to Tuesday.",
    "She changed her password from time to time.",
    "I changed my password from the old one to something stronger.",
    "We changed the password policy from 8 to 12 characters.",
    "The wifi password, which is printed on the router, works.",
    "The password, which is why I reset it, expired.",
    "The security answer is case-sensitive.",
    "The credentials are read/write for admins.",
    "login: Monday/Tuesday works",
    "The code to the safe is in the drawer.",
    "The code for the house is on GitHub.",
    "The combination of the lock and key is clever.",
    '<add value="30" key="Timeout" />',
    "<title><![CDATA[Password reset]]></title>",
    # a length, a directory, a year, a verb ending in a verb's letters ("expires")
    "The PIN is 4 digits.",
    "The verification code is 6 digits.",
    "My password is 16 characters long.",
    "The passcode is 4 or 6 digits.",
    "Meine PIN ist 4-stellig.",
    "暗証番号は4桁です。",
    "pwd: /home/bob/projects",
    "Season pass 2024 is on sale.",
    "My password for work expires Friday.",
    "My password has been compromised.",
    "Forgot your password? Reset it here.",
    "What is the wifi password? I forgot it.",
    "What's their biggest secret?\n3. **World-Building:** imagine a city.",
    "The password should be at least 12 characters.",
    "The password you need is on the fridge.",
    "The password I use for work is different.",
    "The code they texted is valid for 10 minutes.",
    "The password we set up to log in is on the card.",
    "The password, which I keep forgetting, is written down.",
    "The wifi password here is printed on the router.",
    "My password used to be simple.",
    "Enter the password (required) and press OK.",
    "The API key (see below) is required.",
    "Thanks, that's the password.",
    "The code is 2 lines long.",
    "The zip code is 90210.",
    "The garage is 2000 sq ft and the door is 1920s oak.",
    "My bank says the PIN must be 4 to 6 digits.",
    "The password is case sensitive.",
    "The password is blank by default.",
    "What is your mother's maiden name? I forgot.",
    "Der Code für die Tür ist noch nicht da.",
    "The pass is 5km away and my pass is valid.",
    "The password for gmail's too long.",
    "The wifi is 5GHz, 300 Mbps on 802.11ac, and the wifi is slow today.",
    "I changed my password. It's Monday, so it expires.",
    "Passwords must be at least 12 characters long.",
    "My pins: a 1, b 2 on the board.",
    "Summarise it in 12 words: the cat sat on the mat today.",
    "I wrote my 24 words down and the seed phrase is safe.",
    "Our PINs are short and we never change them.",
    "Apps share no passwords. It's commonly used by third-party apps.",
    "The code for this feature is 1500 lines and the gate to the park is 2000 years old.",
    "My mother's maiden name is used as a security question a lot.",
    "| Feature | Rule |\n|---|---|\n| Password | Must be 12 characters |\n| PIN | 4 digits |",
    "My password is correct but it fails, and the wifi password is fine.",
    "The code he sent was wrong and the code google sent is expired.",
    "Sin is a short word; since 2020 the BSN office and the NIE desk moved.",
    "Access codes:\n- Building 7 lobby\n- ask Bob at the desk",
    "What's the pin? It's on the fridge, and the password? It's 12 characters long.",
    "Is the password ok? Yes, it's fine. Here: the manual says so.",
]
