"""The words that name a secret, and the words around them, in English, German, French,
Spanish, Russian, Chinese and Japanese, and the password and code words of Dutch,
Portuguese, Polish, Swedish and Italian (regex alternations, matched case-insensitively on
NFKC text: see `cues`)."""

from __future__ import annotations

# pl: what "hasło do" (password for) and "kod do / od" (code of) name; "to" says "is" after
# them ("hasło do poczty to X", "kod do drzwi to 4471")
_HASLO_DO = "wifi wi-fi konta poczty maila banku routera komputera telefonu laptopa".split()
_KOD_DO = (
    "drzwi bramy furtki domofonu klatki sejfu alarmu garażu garazu mieszkania skrytki kłódki "
    "klodki szafki"
).split()
_PIN_DO = "karty telefonu bankomatu".split()  # "PIN do karty", "kod PIN do telefonu"
_BLIK_DO = "płatności platnosci przelewu transakcji zakupu zakupów zakupow".split()  # "kod BLIK do"
# an adjective before or after the noun: "do konta bankowego", "do służbowej poczty", "do
# drzwi wejściowych"
_ADJECTIVES = (
    "bankowego firmowego służbowego sluzbowego domowego prywatnego głównego glownego "
    "osobistego internetowego hotelowego nowego bankowej firmowej służbowej sluzbowej domowej "
    "prywatnej głównej glownej elektronicznej internetowej garażowej garazowej wjazdowej "
    "nowej kredytowej debetowej płatniczej platniczej wejściowych wejsciowych frontowych "
    "tylnych garażowych garazowych balkonowych "
    "głównych glownych schodowej"
).split()
_ADJECTIVE = f"(?:{'|'.join(_ADJECTIVES)})"


def _place(nouns: list[str]) -> str:
    """ "X" of "hasło do X", "kod do X": one of `nouns` or two ("drzwi klatki"), an
    adjective before or after."""
    noun = f"(?:{'|'.join(nouns)})"
    return rf"(?:{_ADJECTIVE} )?{noun}(?: {noun})?(?: {_ADJECTIVE})?"


# the words after which a Polish "to" is "is" (`VERB`)
_BEFORE_TO = (*_KOD_DO, *_HASLO_DO, *_BLIK_DO, *_PIN_DO, *_ADJECTIVES)

# a time's colon ("15:30"): no "is" of a cue (`VERB`), but a word of its qualifier ("the door
# code at 15:30: X", `cues._WORDS`)
TIME_COLON = r"(?<=\d):(?=[0-5]\d(?!\d))"
# a Swedish or Finnish ending after a colon: "wifi:t", "VPN:et", "wifi:n" (no "is")
SUFFIX_COLON = (
    r"(?<=[^\W\d_]):(?:t|et|en|n|s|ets|ens|ar|na|arna|erna|ssa|ssä|sta|stä|lla|llä|ksi|ta|tä|"
    r"ään|iin)(?!\w)"
)

# passwords and passphrases: the value runs to the end of its clause
PASSWORD = (
    r"pass ?words?|passwd|pwd|pw|pword|pswd|psw|passw|pass ?phrases?|pass ?codes?|"
    r"pasword|passwrd|psswd|pswrd|passowrd|passwrod|pssword|paswd|passord|passwor|"  # typos
    r"secret word|code word|(?:code|cl[ée]) wi-?fi|кодовое слово|"
    r"answer to (?:my |the |your )?(?:security|secret) question|"
    r"memorable (?:word|information|place|name|date)|"
    r"(?:wi-?fi|wlan|wpa2?|network|router) (?:key|pass)|login password|"
    r"unlock (?:pattern|phrase)|(?:lock|safe|locker|padlock) combination|"
    r"(?:security|secret) (?:question )?answers?|mother['’]?s maiden name|"
    # de, nl, sv, da, no and their compounds ("WLAN-Passwort", "Bankpasswort", "wifiwachtwoord",
    # "Wifilösenordet"; a possessive after the word: "passordet mitt"; one group, tried
    # only where a stem's first letter is: at each letter of a word it would try them all)
    r"[^\W\d_]*(?=[pkwla])(?:pass(?:wort|wörter)|kennw(?:ort|örter)|wachtwoord(?:en)?|"
    r"(?:l[öo]senordet|passordet|kodeordet|adgangskoden)"
    r"(?: (?:mitt|min|mit|vårt|vort|vores|ditt|din|dit))?|l[öo]senord|passord|kodeord|adgangskode)|"
    # fr; a service's name or "wifi" after it: "mon mot de passe Free c'est X"
    r"(?:mots? de passe|mdp)(?:(?: (?-i:[A-Z][\w&.-]{1,20})(?<!é)(?<!ée)(?<!és)){1,2}| wi-?fi)?|"
    r"phrase secrète|"
    r"contrase[ñn]as?|"  # es
    r"senhas?|palavras?-passe|wi-?fi-?kod(?:en?)?|"  # pt; sv, da, no: "Wifikoden er X"
    # fi, cs / sk, tr, hu, el
    r"salasana(?:ni|si|mme|nne)?|hesl[oa]|"
    r"şifre(?:m|n|si|niz|miz)?|jelsz(?:ó|ava|avam|avad|avunk)|κωδικός πρόσβασης|συνθηματικό|"
    rf"has[łl]o(?: do {_place(_HASLO_DO)})?|"
    r"парол[ьяеюи]\w*"  # ru
)
# national ids' cues that are words in lower case ("sin", "nie"): cues in capitals only
CAPITAL_IDS = ("SIN", "NIE", "NIF", "CPR", "AHV")
# PINs, codes and numbers: one token with a digit
CODE = (
    r"pins?(?:[- ]?(?:code|number|nummer|no\.?|код|kod))?"
    rf"(?: do {_place(_PIN_DO)})?|cvv2?|cvc2?|cid|csc|security code|"
    r"verification code|confirmation code|one[- ]time (?:code|password|passcode)|otp|"
    r"puk(?: code| number)?|"
    r"2fa[- ]code|mfa[- ]code|(?:2fa|mfa|otp|sms|totp) (?:token|number)|"
    r"(?:backup|recovery|scratch|activation|registration) code|"
    r"(?:authentication|auth|login|sign[- ]?in|sms|text(?:ed)?)[- ]code|"
    r"(?:door|alarm|gate|garage|safe|lock|entry|access|unlock|keypad|lockbox|buzzer|intercom|"
    r"padlock|building|locker|apartment|key ?box|disarm|opener) code|"
    r"(?:lock|locker|safe|padlock|gym) combo|"
    r"combination on (?:the |my |our |your )?(?:bike |gym )?(?:lock|padlock|safe|lockbox|locker)|"
    # "the code to the safe", "the combination for my bike lock": a lock's (a digit needed)
    r"(?:code|combination|combo) (?:to|for|of) (?:the |my |our |your )?(?:front |back |side "
    r"|main |bike )?(?:door|safe|gate|alarm|lock|padlock|lockbox|locker|garage|building|house|"
    r"apartment|flat|keypad|storage unit|shed|airbnb|cabin|room|get in)|"
    r"ssn|social security(?: number)?|(?:bank )?account (?:number|no\.?|#)|routing(?: number)?|"
    r"sort code|bsb|(?:checking|savings|bank) acc(?:ount)?(?: number| no\.?| #)?|"
    r"acct(?: number| no\.?| #)?|"
    # national ids: Canada's social insurance number (SIN), the UK's NI and NHS numbers,
    # India's Aadhaar, Germany's Steuer-ID, Spain's DNI, NIE and NIF, the Netherlands' BSN,
    # Italy's codice fiscale, India's PAN, Poland's PESEL, Sweden's personnummer, Denmark's CPR,
    # Switzerland's AHV, Singapore's NRIC, Mexico's CURP, Russia's СНИЛС and ИНН; a
    # driver's licence
    "(?-i:CURP|" + "|".join(CAPITAL_IDS) + ")|"
    r"dni|bsn|pesel|nric|hkid|cpf|burgerservicenummer|sofinummer|"
    r"(?-i:PAN)(?: card(?: number| no\.?)?| number| no\.?)|pan card(?: number| no\.?)?|"
    r"codice fiscale|personnummer|pps number|ird number|social insurance number|"
    r"national insurance(?: number| no\.?)?|"
    r"ni number|nino|nhs number|medicare number|tax file number|tfn|itin|"
    r"aadhaar(?: number| no\.?)?|national id(?: number| no\.?)?|"
    r"(?:driver'?s? licen[cs]e|dl)(?: number| no\.?| #)?|steuer-?id|steueridentifikationsnummer|"
    r"sozialversicherungsnummer|num[ée]ro de s[ée]cu(?:rit[ée] sociale)?|снилс|инн|"
    r"card number|tax id|passport (?:number|no\.?)|"
    r"geheimzahl|(?:reise)?pass-?nummer|zugangscode|t[üu]rcode|torcode|alarmcode|kontonummer|"
    r"schlie(?:ß|ss)fachcode|(?:best[äa]tigungs|verifizierungs|sicherheits)code|"
    r"code (?:f[üu]r|zur|zum) (?:die |das |den )?"
    r"(?:haust[üu]r|t[üu]r|wohnung|garage|tor|alarmanlage|tresor|safe|schlie(?:ß|ss)fach)|"
    r"code (?:pin|secret|confidentiel|d'accès|de la porte|d'entrée|de l'alarme)|digicode|"
    r"code (?:du|de la|de l'|de) ?(?:ma |mon )?"
    r"(?:portail|porte(?: d['’]entr[ée]e)?|garage|immeuble|carte(?: bleue)?|"
    r"v[ée]rification|s[ée]curit[ée]|confirmation)|num[ée]ro de passeport|"
    r"clave|n[úu]mero de (?:pasaporte|cuenta)|c[óo]digo (?:pin|secreto|de acceso|de la puerta)|"
    r"c[óo]digo de (?:verificaci[óo]n|seguridad|confirmaci[óo]n|la tarjeta|la alarma|portal)|"
    r"c[óo]digo del (?:portal|garaje|edificio|trastero)|"
    r"codice (?:pin|segreto|di sblocco|(?:del|della|dell'|di) ?(?:lucchetto|cancello|portone|"
    r"allarme|cassaforte|porta|garage|carta|bancomat))|"
    r"(?:wlan|netzwerk)[ -]?schlüssel|"  # de: a FRITZ!Box's is 20 digits in groups of four
    r"inlogcode|toegangscode|verificatiecode|beveiligingscode|deurcode|sleutelkluiscode|"  # nl
    r"code van (?:de |het |mijn |onze )?(?:sleutelkluis|voordeur|deur|poort|garage|alarm|kluis|"
    r"fietsslot)|"
    r"c[óo]digo (?:de verifica[çc][ãa]o|de seguran[çc]a|de acesso|do port[ãa]o|da porta|"  # pt
    r"do alarme|do cadeado|do cofre)|"
    r"kod (?:weryfikacyjny|dost[ęe]pu|pin|"  # pl
    rf"blik(?: do (?:{'|'.join(_BLIK_DO)}))?|(?:do|od) {_place(_KOD_DO)})|"
    # sv, da / no, fi: "Portkoden är 8120", "dørkoden er 4471", "ovikoodi on 4471"
    r"(?:port|d[öø]rr?|larm|alarm|pin-?|grind|garage|s[äa]kerhets|sikkerhets|engångs|engangs|"
    r"verifierings|bekr[äa]ftelse|bekreftelses)kod(?:en?)?|"
    r"(?:ovi|portti|hälytys|pin-?|turva|vahvistus)koodi(?:ni|si|mme)?|"
    r"koden (?:till?|för|for|på) (?:porten|dörren|døren|døra|larmet|alarmen|garaget|garasjen|"
    r"garagen|grinden|kassaskåpet|boksen|boxen|hänglåset|hengelåsen|hengelåset|hængelåsen|"
    r"nyckelskåpet|nyckelboxen|nøkkelboksen|nøgleboksen)|"
    r"пин(?:-?код)?|номер паспорта|код доступа|"
    r"код (?:от )?(?:домофона|двери|подъезда|сейфа|сигнализации|калитки|ворот)"
)
# lists of codes: every code of the list
CODES = (
    r"(?:backup|recovery|2fa|mfa|scratch|one[- ]time) codes|"
    r"(?:wiederherstellungs|backup-|sicherungs)codes|"
    r"codes de (?:r[ée]cup[ée]ration|secours)|c[óo]digos de (?:recuperaci[óo]n|respaldo)|"
    r"(?:резервные|запасные) коды|коды восстановления"
)
# seed phrases: up to 24 words
SEED = (
    r"seed (?:phrase|words)|(?:secret )?recovery (?:phrase|words|seed)|"
    r"mnemonic(?: phrase| words)?|backup phrase|wallet (?:words|phrase)|"
    r"(?:12|24)[- ]word (?:phrase|seed)|(?:12|24)[- ]words|"
    r"(?:ledger|metamask|trezor|exodus|wallet|crypto) (?:seed|words|(?:recovery )?phrase)|"
    r"seed-phrase|wiederherstellungsphrase|phrase de r[ée]cup[ée]ration|"
    r"frase (?:semilla|de recuperaci[óo]n)|сид-?фраза|мнемоническая фраза"
)
# keys, tokens and secrets: one token that looks generated
KEY = (
    r"api[ _-]?key|api[ _-]?token|access[ _-]?(?:key|token)|secret(?: access)?(?: key)?|"
    r"auth(?:entication)?[ _-]?token|bearer token|refresh token|session token|"
    r"client[ _-]secret|private key|token|app password|signing key|encryption key|"
    r"(?:licen[cs]e|product|activation|serial|windows|office|cd|recovery) key|"
    r"api[ -]?schlüssel|cl[ée] (?:d'api|secr[èe]te)|clave (?:de api|secreta)"
)
# plurals of codes and keys, cues only before a list on the lines after them ("PIN codes:\n
# 1. 4821\n2. 9912", "API keys\n- ..."): every item of it (`cues._items`)
CODE_LISTED = (
    r"pin[- ]?(?:codes|numbers)|"
    r"(?:door|alarm|gate|garage|safe|lock|entry|access|security|verification) codes"
)
KEY_LISTED = (
    r"api[ _-]?(?:keys|tokens)|access[ _-]?(?:keys|tokens)|secret(?: access)? keys|"
    r"(?:client[ _-])?secrets|auth(?:entication)?[ _-]?tokens|(?:bearer|refresh|session) tokens|"
    r"private keys|app passwords|(?:signing|encryption|licen[cs]e|product|activation|serial) keys"
)
# what comes between a cue and its value: "password for gmail is ..."
QUALIFIER = (
    r"for|of|to|at|on|with|from|(?:until|till|after|before|since)(?=\s+\d)|"  # ("until 12:30")
    r"für|fürs|von|vom|zu|zum|zur|bei|beim|meiner|meines|deiner|deines|der|des|"
    r"pour|de|du|des|à|"
    r"para|del|en|"
    # pt, pl, cs (not "do" after other words)
    r"(?:(?<=senha\s)|(?<=senhas\s)|(?<=passe\s)|(?<=has[łl]o\s)|(?<=heslo\s))d[oa]s?|"
    r"til|till|på|na|k|του|για|från|fra|z|"  # da, no, sv, cs, el, pl
    r"della|dello|di|van|voor|för|dla|"
    r"от|для|к|на"
)
# who says something of it in a clause between the cue and its "is": "the password I use
# for everything is X", "the code the bank sent me is 4821", "the code google sent is X"
SUBJECT = (
    r"i|i've|i'd|we|we've|you|you've|you'll|u|they|they've|he|she|someone|somebody|"
    r"(?:(?:the|my|our|your|his|her|their)[ \t]+)?[^\W\d_]{1,40}"
    r"(?=[ \t]+(?:just[ \t]+)?(?:sent|texted|emailed|gave|sends|texts|emails|gives)\b)|"
    r"(?:the|my|our|your|his|her|their)[ \t]+[^\W\d_]{1,40}|"
    r"ich|wir|du|je|nous|vous|ils|yo|я|мы|ты|вы|они"
)
# ... a clause in commas: "the password, which I never change, is X"
WHICH = r"which|that|das|die|den|qui|que|который|которую|которое"
# ... or where or when: "the wifi password here is X"
HERE = (
    r"here|there|now|today|currently|at\s+(?:home|work|the\s+office)|somewhere|again|btw|"
    r"please|pls|too|hier|ici|aquí|здесь"
)
# ... or "now" in another language: "Mi PIN ahora es 9921" (a value that looks generated)
NOW_ABROAD = r"jetzt|nun|maintenant|désormais|ahora|agora|ora|adesso|teraz|nu|nå|теперь|сейчас"
# an adverb between a change's verb and its participle: "is now set to"
NOW = r"now|just|also|still|currently|recently|finally|already"
# "is" / ":" / "was changed to" ...
VERB = (  # (a word of it starts a word: "expires" holds no "es")
    # "is now set to", "was just changed to", "has now been reset to", "'s been changed to",
    # "will now be set to"
    rf"(?:\b(?:(?:(?:ha[sd]|['’]s|will)(?:\s+(?:{NOW}))?\s+be(?:en)?|['’]s|was|is|got)\s+)?"
    rf"(?:(?:{NOW})\s+)?"
    r"(?:changed|set|updated|reset|switched)\s+to"
    r"|(?P<maybe>\b(?:ha[sd]\s+(?:always\s+)?been|(?:should|must|would)\s+be|remains|became)\b"
    # pl: "hasło to X", "kod do drzwi to 4471" ("to" also defines: "Hasło to podstawa")
    # (one "t" tried after each count of spaces: a run of them costs no more than before)
    r"|(?=\s{1,8}t(?:eraz\s{1,8}t)?o\b)(?:(?<=has[łl]o)|(?<=dost[ęe]pu)|(?<=weryfikacyjny)|(?<=blik)"
    rf"{''.join(f'|(?<={word})' for word in _BEFORE_TO)})"
    r"(?:\s+teraz)?\s+to\b(?:[ \t]*:)?"  # ("Kod BLIK to: 482913", "Hasło teraz to X")
    # "store my password. It is X.", "my password? easy. its X", "the password. here: X"
    r"|(?P<later>[.?!][ \t]+(?:(?:oh|ok|okay|right|easy|yes|yeah|sure|well)[ \t,.!]+)*"
    r"(?:it(?:['’]?s|[ \t]+is)\b|its\b|here[ \t]*:))"
    r"|\?+(?=[ \t]+\S)|[,–—-][ \t]*it['’]?s\b"  # "password? X", "password - it's X"
    # "password changed again, its now X", "the door code changed, now it's X"
    r"|\bchanged(?:[ \t]+again)?(?:[ \t]*[,.!]+)?[ \t]+"
    r"(?P<now>(?:(?:and|so)[ \t]+)?now[ \t,]+|(?:and|so)[ \t]+)?"  # (`cues._a_new_value`)
    r"it(?:['’]?s|s|[ \t]+is)(?:[ \t]+now)?\b)"
    # da / no "er", fi "on", cs / sk "je", el "είναι": after their own cue words only
    # (`cues._taken`), before a value that looks generated (`cues._forward`: no word list
    # says "too short" there)
    # (the spaces before it are `cues._VERB`'s: a run of them is read one way)
    r"|(?P<copula>(?<=\s)(?:er|on|je|είναι)\b(?:\s+(?:nu|nå|nyt|teď|τώρα)\b)?)(?:[ \t]*:)?"
    r"|\b(?:is|was|are|['’]s|used\s+to\s+be|ist|lautet|war|lauten|sind|est|était|sont|c'est|es|"
    r"era|son|è|é|jest|är|"
    r"это|был|была|было)\b"
    r"(?:\.\.\.|…)?(?:\s+(?:now|still|just|actually|also|jetzt|nun|noch|immer|auch|"
    r"maintenant|toujours|encore|aussi|"
    r"ahora|todavía|ora|adesso|ancora|anche|agora|ainda|também|teraz|nu|nog|ook|"
    r"теперь|сейчас)\b)?(?:\s*:)?"  # "is:", its value on the next line too
    r"|\b(?:changed|updated|reset)\s*:"  # "password changed: X -> Y"
    r"|,\s*which\s+(?:is|was)\b"  # "the password, which is X"
    rf"|\bwill\s+be|(?!{TIME_COLON}|(?<=\d):[^\W\d_]|{SUFFIX_COLON}):|=|->|→|➡️?|👉|—|–"
    r"|#(?=\s*\d))"  # "PIN# 4821", "gate code #4417": a number only
)
# "set my password to ...": a change verb before the cue, "to" after it
CHANGE = (
    r"\b(?:set|setting|change[ds]?|changing|reset|update[ds]?|updating|switch(?:ed)?|"
    r"chang[ée]e?s?|modifi[ée]e?s?|mis|r[ée]initialis[ée]e?s?|"
    r"cambi[éeoa]\w*|actualic[ée]|pus[eo]|puesto|"
    r"смени\w*|поменя\w*|измени\w*|установи\w*|постави\w*)\b"
)
# ... in Swedish, Norwegian, Danish and Polish, before their own "to" (`TO_LOOSE`) and "from"
CHANGE_LOOSE = r"\b(?:bytt|byttet|bytte|byttede|ändrat|ändrade|endret|ændret|ændrede|zmieni\w*)\b"
# (Swedish, Norwegian and Danish "till", "til" and Polish "na" also say what a password is
# for: what follows them must look generated, `cues._forward`)
TO = r"to|into|en|à|a|por|на|till|til|na"
TO_LOOSE = ("till", "til", "na")
FROM_LOOSE = ("från", "fra", "z")  # "bytt lösenordet från X till Y", "z X na Y"
# German puts the verb last: "das Passwort auf X geändert"
TO_LAST = r"auf|in"
CHANGED_LAST = r"geändert|gesetzt|umgestellt|zurückgesetzt|geaendert"

# "I use X as my password"
USE = (
    r"use|used|using|chose|picked|"
    r"benutze|benutzt|verwende|verwendet|nutze|nehme|"
    r"utilise|utilisé|j'utilise|"
    r"uso|usé|utilizo|"
    r"использую|использовал\w*"
)
AS = r"as|als|comme|como|как|в качестве"
OWNER = (
    r"my|the|our|a|his|her|their|your|mein|meine|meinen|das|die|den|mon|ma|le|la|mi|el|"
    r"la|мой|моего|моя"
)

# "log in with password sunshine": the words before a password given as an ordinary word
# (a verb of use, then "my", "the wifi"...), and those that may follow it in its clause
USED_WITH = (
    r"with|using|use|uses|enter|entered|type|typed|try|tried|mit|avec|con|"
    r"log ?in with|sign ?in with"
)
# ... or one's own: "my password sunshine" (the first person's words, not "the password")
MY = r"my|our|mein|meine|meinen|unser|unsere|mon|ma|notre|mi|mis|nuestra|мой|моя|наш"
USED_FOR = r"wi-?fi|wlan|router|network|email|e-mail|admin|login|account|guest|bank|laptop|phone"
USED_WITH_NEXT = (
    r"and|but|then|to|for|at|on|from|when|if|until|before|after|tonight|today|tomorrow|now|"
    r"please|"
    r"instead|first|again|twice|und|et|y|и"
)
# ... not a word that says what the password is or is for ("with password manager"), nor a
# word of these endings ("verification", "linked", "salts": nouns, participles, plurals)
NOT_A_PASSPHRASE_WORD = frozenset(
    "manager generator reset recovery protection change hint policy field box prompt "
    "screen page form rules strength length vault app list file login logon auth access "
    "security sharing rotation expiry complexity input entry attempt spraying storage hash "
    "encryption credential details info option setting once only instead again first "
    "later then please section dialog window link email text message request update "
    "fatigue hygiene management protect lock locked unlock required anyway everywhere "
    "always anymore together tomorrow yesterday tonight today given shown chosen set sent "
    "alone support feature mode method salt yours theirs mine ours hers yourself "
    "autofill fallback sync reuse import export audit checker leak backup keychain "
    "history combination combo ready handy twice thrice present aloud".split()
)
# ... nor, as a word alone, what is said of one's own password: "keep my password safe",
# "I need my password back" (in a passphrase of several words, "correct" is one of them)
NOT_A_PASSWORD = NOT_A_PASSPHRASE_WORD | frozenset(
    "safe secret private secure strong weak short long good fine okay wrong right correct "
    "incorrect valid invalid same simple easy hard complex unique random memorable back "
    "down here there soon somewhere anywhere online offline overnight already haha well "
    "expire leak work stink suck longer stronger shorter better safer somehow anyhow "
    "problem issue question trouble glitch stuck broke though maybe either perhaps sorry "
    "thanks oops gone stuff thing mistake fault monday tuesday wednesday thursday friday "
    "saturday sunday "
    "erforderlich temporal obligatorio requis none default optional next blank empty "
    "required".split()
)
NOT_A_PASSWORD_ENDINGS = tuple("tion sion ment ance ence ing ed ers ors ity ness ó".split())

# the end of a passphrase: punctuation, a conjunction, a bracket or a line break
CONJUNCTION = (
    r"and|but|so|or|because|which|then|if|when|while|though|although|please|btw|"
    r"und|aber|oder|weil|denn|dann|bitte|"
    r"et|mais|ou|parce|donc|puis|quand|"
    r"y|pero|porque|luego|cuando|"
    r"и|но|или|потому|а"
)
# what stands in a table's cell, a configuration's value or after a cue where no value
# is set
UNSET = frozenset(
    {"", "-", "—", "~", "n/a", "na", "none", "nil", "null", "true", "false", "yes", "no", "on"}
    | {"off", "***", "…", "...", "''", '""', "|", ">"}
)
# a cue followed by one of these describes the secret, it does not give it
NOT_A_VALUE = frozenset(
    # en
    "a an the my your his her our their its this that these those it on in at under "
    "inside behind written saved stored kept not no still too very so wrong incorrect "
    "expired changed same different missing required needed being reset weak strong long "
    "short easy hard simple complicated secure safe private hidden case-sensitive valid "
    "invalid there here below above attached encrypted unknown forgotten lost somewhere "
    "printed taped also now just actually what which who where how something anything "
    "case blank leaked used gone ask mine yours ours everything everyone one temporary weird "
    "expiring better impossible easier harder safer stronger weaker longer shorter simpler "
    "nothing whatever like don't why because see yes done time been nowhere elsewhere "
    "wpa wpa2 wpa3 wep aes tkip 5ghz 2.4ghz "  # a wifi's security or band, not its password
    # de
    "der die das ein eine einen mein meine dein deine sein seine ihr ihre unser im auf "
    "unter hinter nicht kein keine noch zu sehr falsch richtig abgelaufen geändert gleich "
    "anders sicher unsicher lang kurz einfach schwer geheim vergessen verloren neu alt "
    "gespeichert notiert irgendwo hier da dort leer gültig ungültig auch jetzt was wie wo "
    # fr
    "le la les un une mon ma mes ton ta son sa notre votre leur sur dans sous derrière "
    "pas plus trop très faux fausse incorrect incorrecte expiré expirée changé changée "
    "sécurisé sécurisée simple facile difficile long longue court courte oublié oubliée "
    "perdu perdue nouveau nouvelle ancien ancienne enregistré ici là aussi quoi où "
    # es
    "el los las uno mi mis tu tus su sus nuestro nuestra en sobre bajo detrás no muy "
    "demasiado incorrecta incorrecto caducada caducado cambiada cambiado segura seguro "
    "fácil difícil larga largo corta corto olvidada olvidado perdida perdido nueva nuevo "
    "vieja viejo guardada guardado aquí allí también qué dónde cuál cual cómo quién "
    "más menos diferente distinta distinto igual misma mismo débil fuerte obligatoria "
    "obligatorio válida válido inválida inválido ahora todavía "
    # ru
    "на в под за не нет слишком очень неверный неправильный простой сложный старый новый "
    "забыл забыла потерял потеряла тот такой же длинный короткий надёжный здесь там "
    "тоже что где "
    # it, pt, nl, pl, sv
    "sbagliata sbagliato lunga lungo cambiata cambiato nuova nuovo vecchia vecchio "
    "scaduta scaduto semplice facile difficile debole forte sicura sicuro troppo molto "
    "il lo gli mio mia tuo tua suo sua di del della più meno uguale diversa diverso stessa "
    "stesso rotta rotto corta corto bloccata bloccato giusta giusto valida valido salvata "
    "scritta quella quello ancora anche qui adesso ora "
    "obbligatoria obbligatorio errada errado curta curto longa longo fraca fraco nova novo "
    "antiga antigo obrigatória obrigatório muito simples alterada expirada "
    "te kort lang fout verkeerd verlopen nieuw oud zwak sterk veilig makkelijk moeilijk "
    "verplicht gewijzigd za krótkie długie nieprawidłowe błędne proste trudne nowe stare słabe "
    "för fel nytt gammalt svagt starkt enkelt nul nulle bloqué bloquée på samma inte "
    "också "
    # nl, sv: more words that describe a password or say where it is
    "het de een mijn jouw onze hier daar ook niet nog steeds hetzelfde anders veranderd "
    "vergeten gehackt gelekt opgeslagen bewaard geblokkeerd onbekend bekend minimaal "
    "maximaal eindelijk altijd hoofdlettergevoelig ongeldig geldig "
    "det den mitt ditt hemligt hemlig sparat sparad fortfarande lätt svårt bytt ändrat "
    "glömt okänt här där minst högst skiftlägeskänsligt ogiltigt giltigt".split()
)

# CJK: no spaces between words, so no word boundaries; the value is the run of Latin
# letters, digits and symbols after the cue (a password written in CJK script passes)
CJK_PASSWORD = r"密码|密碼|口令|パスワード|暗号|パスコード"
CJK_CODE = (
    r"(?<![A-Za-z])PIN(?:码|碼|コード|番号)?|暗証番号|验证码|驗證碼|認証コード|门禁码|門禁碼|"
    r"ドアのコード|身份证号码?|身分證字號|マイナンバー|银行卡号|銀行卡號|卡号|社保号|口座番号|"
    r"オートロックの番号|"
    r"护照号码?|護照號碼?|パスポート番号|旅券番号"
)
CJK_SEED = r"助记词|助記詞|シードフレーズ|リカバリーフレーズ|復元フレーズ|恢复短语"
CJK_VERB = (
    r"\s+(?=[!-~]*\d)|"  # "支付密码 204816": a space, then a run with a digit
    r"\s*(?:是|为|為|は|が|:|=|改成|改为|改為|设为|设置为|設為|設定為|变成)\s*(?:[:=]\s*)?"
    r"|を\s*(?=[!-~]+\s*に(?:変更|設定))"
)
