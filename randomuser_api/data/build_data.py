"""Build `locales.json`: names, cities, states and streets per nationality, plus the common lists.

Run once, commit the output: `.venv/bin/python -m randomuser_api.data.build_data`.
The generator never calls Faker: it samples these lists with a seeded `random.Random`, so response bodies
stay stable when Faker changes. Names come from Faker's locale data; places come from Faker's real lists where
the locale has them, and from the short hand-written lists below where Faker only has pattern-made names
(e.g. "West Davidmouth"). Serbia (RS) has no Faker locale: everything for RS is hand-written (Latin script).
Lists in `upstream.json` (`build_upstream.py`: randomuser's own lists) replace these where both exist (UA,
BR/RS streets, DK cities, US last names, passwords, time zones).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from faker import Faker
from text_unidecode import unidecode


def words(text: str) -> list[str]:
    """Split a space-separated list; underscores stand for spaces inside one entry."""
    return [w.replace("_", " ") for w in text.split()]


OUT = Path(__file__).with_name("locales.json")
CAP = 250  # at most this many entries per list: enough variety, compact file

LOCALES = {
    "AU": "en_AU", "BR": "pt_BR", "CA": "en_CA", "CH": "de_CH", "DE": "de_DE", "DK": "da_DK", "ES": "es_ES",
    "FI": "fi_FI", "FR": "fr_FR", "GB": "en_GB", "IE": "en_IE", "IN": "en_IN", "IR": "fa_IR", "MX": "es_MX",
    "NL": "nl_NL", "NO": "no_NO", "NZ": "en_NZ", "TR": "tr_TR", "UA": "uk_UA", "US": "en_US",
}

CITIES = {
    "AU": "Sydney Melbourne Brisbane Perth Adelaide Hobart Darwin Canberra Geelong Townsville Cairns Toowoomba "
    "Ballarat Bendigo Launceston Mackay Rockhampton Bunbury Bundaberg Wagga_Wagga Mildura Shepparton Gladstone "
    "Tamworth Orange Dubbo Albury Newcastle Wollongong Gold_Coast Sunshine_Coast Kalgoorlie Traralgon",
    "BR": "São_Paulo Rio_de_Janeiro Belo_Horizonte Salvador Fortaleza Brasília Curitiba Manaus Recife Belém "
    "Porto_Alegre Goiânia Guarulhos Campinas São_Luís Maceió Natal Teresina Campo_Grande João_Pessoa Jaboatão "
    "Osasco Santo_André Uberlândia Contagem Sorocaba Aracaju Feira_de_Santana Cuiabá Joinville Juiz_de_Fora "
    "Londrina Niterói Ananindeua Serra Caxias_do_Sul Vitória Florianópolis Macapá Palmas Rio_Branco Boa_Vista",
    "CA": "Toronto Montreal Vancouver Calgary Edmonton Ottawa Winnipeg Quebec_City Hamilton Kitchener London "
    "Victoria Halifax Oshawa Windsor Saskatoon Regina Barrie Kelowna Abbotsford Kingston Sudbury Guelph "
    "Moncton Brandon Lethbridge Nanaimo Fredericton Charlottetown Whitehorse Yellowknife Iqaluit Chipman "
    "Shelbourne Stratford Waterloo Burlington",
    "FR": "Paris Marseille Lyon Toulouse Nice Nantes Strasbourg Montpellier Bordeaux Lille Rennes Reims "
    "Saint-Étienne Toulon Le_Havre Grenoble Dijon Angers Nîmes Villeurbanne Clermont-Ferrand Le_Mans "
    "Aix-en-Provence Brest Tours Amiens Limoges Perpignan Metz Besançon Orléans Rouen Mulhouse Caen Nancy "
    "Argenteuil Montreuil Roubaix Tourcoing Avignon Poitiers Versailles Pau Nanterre Créteil Aubervilliers",
    "GB": "London Birmingham Manchester Leeds Glasgow Sheffield Bradford Liverpool Edinburgh Bristol Cardiff "
    "Leicester Coventry Nottingham Newcastle_upon_Tyne Belfast Brighton_and_Hove Plymouth Stoke-on-Trent "
    "Wolverhampton Derby Swansea Southampton Aberdeen Portsmouth York Peterborough Dundee Lancaster Oxford "
    "Cambridge Exeter Bath Durham Chester Worcester Winchester Salisbury Wells Truro Ely Ripon St_Davids "
    "Carlisle Lichfield Gloucester Hereford Preston Sunderland Wakefield",
    "IE": "Dublin Cork Limerick Galway Waterford Drogheda Dundalk Swords Bray Navan Kilkenny Ennis Carlow "
    "Tralee Newbridge Portlaoise Balbriggan Naas Athlone Mullingar Celbridge Wexford Letterkenny Sligo "
    "Greystones Clonmel Carrigaline Tullamore Killarney Arklow Cobh Ashbourne Midleton Mallow Castlebar "
    "Enniscorthy Tramore Ballina Cavan Westport Ballinasloe Blessington Kinsale Longford Monaghan Roscommon",
    "IR": "تهران مشهد اصفهان کرج شیراز تبریز قم اهواز کرمانشاه ارومیه رشت زاهدان همدان کرمان یزد اردبیل "
    "بندرعباس اراک اسلامشهر زنجان سنندج قزوین خرم‌آباد گرگان ساری شهریار قدس کاشان ملارد دزفول نیشابور "
    "بابل خمینی‌شهر سبزوار گلستان آمل پاکدشت نجف‌آباد بروجرد آبادان ورامین بوشهر بیرجند سیرجان",
    "MX": "Ciudad_de_México Guadalajara Monterrey Puebla Tijuana León Juárez Zapopan Mérida Chihuahua "
    "San_Luis_Potosí Aguascalientes Hermosillo Saltillo Mexicali Culiacán Querétaro Morelia Torreón Acapulco "
    "Tlalnepantla Cancún Villahermosa Veracruz Reynosa Toluca Oaxaca Tuxtla_Gutiérrez Durango Xalapa "
    "Mazatlán Tampico Cuernavaca Pachuca Campeche Colima Tepic Zacatecas La_Paz Chilpancingo Ensenada",
    "NO": "Oslo Bergen Trondheim Stavanger Drammen Fredrikstad Kristiansand Sandnes Tromsø Sarpsborg Skien "
    "Ålesund Sandefjord Haugesund Tønsberg Moss Porsgrunn Bodø Arendal Hamar Larvik Halden Lillehammer "
    "Harstad Molde Kongsberg Gjøvik Horten Mo_i_Rana Kristiansund Jessheim Elverum Askøy Grimstad Lier "
    "Ski Vestby Bærum Nesoddtangen Stjørdal Steinkjer Hønefoss Alta Narvik",
    "NZ": "Auckland Wellington Christchurch Hamilton Tauranga Napier-Hastings Dunedin Palmerston_North Nelson "
    "Rotorua New_Plymouth Whangarei Invercargill Whanganui Gisborne Timaru Blenheim Taupo Masterton "
    "Levin Ashburton Porirua Lower_Hutt Upper_Hutt Queenstown Greymouth Oamaru Hastings Napier Kaikoura",
    "TR": "İstanbul Ankara İzmir Bursa Adana Gaziantep Konya Antalya Kayseri Mersin Eskişehir Diyarbakır "
    "Samsun Denizli Şanlıurfa Malatya Kahramanmaraş Erzurum Van Batman Elazığ Sivas Manisa Trabzon Sakarya "
    "Kocaeli Balıkesir Tekirdağ Aydın Muğla Karaman Tunceli Bolu Rize Ordu Giresun Sinop Kastamonu Çorum "
    "Yozgat Nevşehir Niğde Aksaray Kırşehir Kırıkkale Uşak Afyonkarahisar Isparta Burdur Hatay Osmaniye "
    "Kilis Adıyaman Mardin Siirt Bitlis Muş Ağrı Iğdır Kars Ardahan Artvin Bayburt Gümüşhane Erzincan Bingöl "
    "Hakkari Şırnak Düzce Zonguldak Bartın Karabük Çankırı Amasya Tokat Edirne Kırklareli Çanakkale Bilecik "
    "Kütahya Yalova",
    "US": "New_York Los_Angeles Chicago Houston Phoenix Philadelphia San_Antonio San_Diego Dallas San_Jose "
    "Austin Jacksonville Fort_Worth Columbus Charlotte Indianapolis Seattle Denver Boston El_Paso Nashville "
    "Detroit Portland Memphis Louisville Baltimore Milwaukee Albuquerque Tucson Fresno Sacramento Mesa "
    "Atlanta Omaha Raleigh Miami Oakland Minneapolis Tulsa Wichita Arlington Tampa Aurora Cleveland Anaheim "
    "Honolulu Billings Savannah Lakewood West_Jordan Dayton Syracuse Fargo Spokane Boise Reno Orlando",
    "RS": "Beograd Novi_Sad Niš Kragujevac Subotica Zrenjanin Pančevo Čačak Kraljevo Novi_Pazar Smederevo "
    "Leskovac Užice Vranje Valjevo Šabac Sombor Požarevac Pirot Zaječar Kikinda Sremska_Mitrovica Jagodina "
    "Vršac Bor Prokuplje Loznica Kruševac Ivanjica Aranđelovac Bajina_Bašta Knjaževac Vrnjačka_Banja "
    "Negotin Paraćin Ćuprija Inđija Ruma Bečej Senta Kula Apatin Obrenovac Lazarevac Mladenovac Gornji_Milanovac",
}

STATES = {
    "DK": "Hovedstaden Sjælland Syddanmark Midtjylland Nordjylland",
    "NO": "Oslo Rogaland Møre_og_Romsdal Nordland Viken Innlandet Vestfold_og_Telemark Agder Vestland "
    "Trøndelag Troms_og_Finnmark Akershus Østfold Buskerud Vestfold Telemark Hordaland Sogn_og_Fjordane",
    "NZ": "Northland Auckland Waikato Bay_of_Plenty Gisborne Hawke's_Bay Taranaki Manawatu-Wanganui "
    "Wellington Tasman Nelson Marlborough West_Coast Canterbury Otago Southland",
    "RS": "Beograd Južnobački Severnobački Zapadnobački Srednjebanatski Severnobanatski Južnobanatski Sremski "
    "Mačvanski Kolubarski Podunavski Braničevski Šumadijski Pomoravski Borski Zaječarski Zlatiborski "
    "Moravički Raški Rasinski Nišavski Toplički Pirotski Jablanički Pčinjski",
    "TR": "",  # filled from CITIES["TR"]: Turkish provinces are both city and state, as randomuser does
}

STREETS = {
    "TR": "Atatürk_Cd Cumhuriyet_Cd İstiklal_Cd Bağdat_Cd Doktorlar_Cd Kushimoto_Sk Fatih_Sultan_Mehmet_Cd "
    "Necatibey_Cd Maçka_Cd Abanoz_Sk Talak_Göktepe_Cd Filistin_Cd Anafartalar_Cd Kuşdili_Cd Vatan_Cd "
    "Mevlana_Cd Şehitler_Cd Fevzi_Çakmak_Cd Kâzım_Karabekir_Cd Mimar_Sinan_Cd Atatürk_Sk Bahçe_Sk Okul_Sk "
    "Çamlık_Cd Ortaokul_Cd Lale_Sk Manastırlı_Rıfat_Sk Tahtakale_Cd Menekşe_Sk Gül_Sk Portakal_Sk Mevlana_Sk",
    "RS": "Kralja_Petra Knez_Mihailova Bulevar_oslobođenja Nemanjina Cara_Dušana Kneza_Miloša Vojvode_Stepe "
    "Svetog_Save Njegoševa Takovska Resavska Zmaj_Jovina Karađorđeva Gospodar_Jovanova Dositejeva "
    "Vojvode_Mišića Jug_Bogdanova Cvijićeva Kralja_Milana Hajduk_Veljkova Vuka_Karadžića Železnička "
    "Branka_Radičevića Ive_Andrića Nikole_Tesle Milana_Rakića Partizanska Pop_Lukina Žička Stevana_Sremca",
}

RS_NAMES = {
    "male_first": "Aleksandar Nikola Stefan Luka Marko Miloš Nemanja Lazar Vuk Filip Dušan Jovan Đorđe Petar "
    "Ognjen Uroš Milan Dragan Zoran Goran Dejan Nenad Bojan Igor Vladimir Srđan Predrag Radovan Branislav "
    "Milutin Živorad Veljko Bogdan Vukašin Mihajlo Andrija Pavle Dimitrije Strahinja Aleksa",
    "female_first": "Jelena Milica Ana Marija Jovana Teodora Katarina Sara Anđela Nevena Tijana Ivana Dragana "
    "Snežana Vesna Gordana Biljana Mirjana Zorica Ljiljana Jasmina Tamara Nataša Sanja Dunja Mina Sofija "
    "Lana Nađa Vida Ksenija Bojana Radmila Slađana Tatjana Svetlana Danica Isidora Vasilija Emilija",
    "last": "Jovanović Petrović Nikolić Marković Đorđević Stojanović Ilić Stanković Pavlović Milošević "
    "Popović Đukić Kostić Tomić Todorović Radovanović Mitrović Lazić Simić Živković Obradović Vasić "
    "Kovačević Marić Ristić Janković Milovanović Stevanović Vuković Lukić Đurić Savić Mladenović Filipović "
    "Stefanović Bogdanović Tasić Stojković Matić Radić Perić Gajić Krstić Nedeljković Milenković Vukić "
    "Ivanović Milić Spasić Dimitrijević",
}

# Words for usernames (adjective + animal + 3 digits, the randomuser pattern) and a small password list.
USER1 = words(
    "angry beautiful big black blue brown crazy golden green happy heavy lazy orange organic purple "
    "red sad silver small ticklish tiny white yellow"
)
USER2 = words(
    "bear bird butterfly cat dog duck elephant fish frog goose gorilla koala ladybug leopard lion "
    "meercat mouse ostrich panda peacock rabbit snake swan tiger wolf zebra"
)
PASSWORD_WORDS = words(
    "sunshine dragon monkey shadow master jordan hunter ranger buster soccer harley batman andrew "
    "tigger charlie robert thomas hockey daniel starwars klaster george computer michelle jessica "
    "pepper zxcvbn ginger hammer summer corvette taylor austin merlin matthew golfer cheese princess "
    "martin chelsea yankees access flower maggie freedom orange banana cookie purple mustang phoenix "
    "london winter spring autumn garden rainbow silver coffee pirate rocket falcon panther eagle "
    "wizard ninja maverick qwerty letmein welcome trustno1 abc123 iloveyou 123456 password 111111 "
    "000000 hello football baseball superman jennifer michael ashley amanda joshua nicole"
)

# (offset, description): the 31 classic whole/half-hour UTC offsets randomuser draws from.
TIMEZONES = [
    ("-12:00", "Eniwetok, Kwajalein"), ("-11:00", "Midway Island, Samoa"), ("-10:00", "Hawaii"),
    ("-9:00", "Alaska"), ("-8:00", "Pacific Time (US & Canada)"), ("-7:00", "Mountain Time (US & Canada)"),
    ("-6:00", "Central Time (US & Canada), Mexico City"), ("-5:00", "Eastern Time (US & Canada), Bogota, Lima"),
    ("-4:00", "Atlantic Time (Canada), Caracas, La Paz"), ("-3:30", "Newfoundland"),
    ("-3:00", "Brazil, Buenos Aires, Georgetown"), ("-2:00", "Mid-Atlantic"),
    ("-1:00", "Azores, Cape Verde Islands"), ("0:00", "Western Europe Time, London, Lisbon, Casablanca"),
    ("+1:00", "Brussels, Copenhagen, Madrid, Paris"), ("+2:00", "Kaliningrad, South Africa"),
    ("+3:00", "Baghdad, Riyadh, Moscow, St. Petersburg"), ("+3:30", "Tehran"),
    ("+4:00", "Abu Dhabi, Muscat, Baku, Tbilisi"), ("+4:30", "Kabul"),
    ("+5:00", "Ekaterinburg, Islamabad, Karachi, Tashkent"), ("+5:30", "Bombay, Calcutta, Madras, New Delhi"),
    ("+5:45", "Kathmandu"), ("+6:00", "Almaty, Dhaka, Colombo"), ("+7:00", "Bangkok, Hanoi, Jakarta"),
    ("+8:00", "Beijing, Perth, Singapore, Hong Kong"), ("+9:00", "Tokyo, Seoul, Osaka, Sapporo, Yakutsk"),
    ("+9:30", "Adelaide, Darwin"), ("+10:00", "Eastern Australia, Guam, Vladivostok"),
    ("+11:00", "Magadan, Solomon Islands, New Caledonia"), ("+12:00", "Auckland, Wellington, Fiji, Kamchatka"),
]

ENGLISH_STREET_SUFFIXES = ["Street", "Road", "Avenue", "Drive", "Lane", "Parade", "Crescent", "Place",
                           "Terrace", "Close", "Way", "Court"]


def natural_order(name: str) -> str:
    """Faker lists some Dutch names as "Bourgondië, van": write them as people do, "van Bourgondië"."""
    base, comma, particle = name.partition(", ")
    return f"{particle} {base}" if comma else name


def dedupe(items: list[str], rng: random.Random) -> list[str]:
    """Unique, non-empty, capped at CAP (a seeded sample when longer), in a stable order."""
    seen = sorted({natural_order(i.strip()) for i in items if i and i.strip()})
    if len(seen) > CAP:
        seen = sorted(rng.sample(seen, CAP))
    return seen


def sample(fake: Faker, method: str, n: int = 600) -> list[str]:
    return [str(getattr(fake, method)()) for _ in range(n)]


def provider_list(fake: Faker, provider: str, attr: str) -> list[str]:
    value: Any = getattr(fake.provider(provider), attr, None)
    if value is None:
        return []
    items = list(value)  # a dict (weighted names) iterates its keys
    return [str(v[-1]) if isinstance(v, tuple) else str(v) for v in items]  # (code, name) pairs -> name


def faker_places(nat: str, fake: Faker) -> dict[str, list[str]]:
    """Cities, states and streets from Faker where its lists are real places."""
    addr = "faker.providers.address"
    cities = provider_list(fake, addr, "cities") or provider_list(fake, addr, "city_names")
    if nat == "ES":
        cities = provider_list(fake, addr, "states")  # the provinces, named after their capitals
    states = (provider_list(fake, addr, "states") or provider_list(fake, addr, "provinces")
              or provider_list(fake, addr, "cantons") or provider_list(fake, addr, "counties")
              or provider_list(fake, addr, "estados") or provider_list(fake, addr, "region_names"))
    if nat == "ES":
        states = provider_list(fake, addr, "regions")
    if nat == "FR":
        states = provider_list(fake, addr, "departments")
    if nat in ("AU", "CA", "GB", "IE", "NZ", "US"):
        lasts = provider_list(fake, "faker.providers.person", "last_names")
        rng = random.Random(nat)
        streets = [f"{rng.choice(lasts)} {rng.choice(ENGLISH_STREET_SUFFIXES)}" for _ in range(400)]
    elif nat == "BR":
        lasts = provider_list(fake, "faker.providers.person", "last_names")
        firsts = provider_list(fake, "faker.providers.person", "first_names")
        rng = random.Random(nat)
        prefixes = ["Rua", "Rua", "Rua", "Avenida", "Travessa", "Rua"]
        streets = [f"{rng.choice(prefixes)} {rng.choice(firsts)} {rng.choice(lasts)}" for _ in range(400)]
    elif nat == "DK":
        streets = provider_list(fake, addr, "street_names")
    else:
        streets = sample(fake, "street_name")
        if nat == "FR":
            streets = [s[:1].upper() + s[1:] for s in streets]
    return {"cities": cities, "states": states, "streets": streets}


def build_nat(nat: str) -> dict[str, list[str]]:
    rng = random.Random(f"userpipe-{nat}")
    if nat == "RS":
        data = {k: words(v) for k, v in RS_NAMES.items()}
        data.update(cities=words(CITIES["RS"]), states=words(STATES["RS"]), streets=words(STREETS["RS"]))
        return {k: dedupe(v, rng) for k, v in data.items()}
    fake = Faker(LOCALES[nat])
    fake.seed_instance(f"userpipe-{nat}")
    person = "faker.providers.person"
    data = {
        "male_first": provider_list(fake, person, "first_names_male"),
        "female_first": provider_list(fake, person, "first_names_female"),
        "last": provider_list(fake, person, "last_names"),
    }
    places = faker_places(nat, fake)
    if nat in CITIES:
        places["cities"] = words(CITIES[nat])
    if nat in STATES:
        places["states"] = words(STATES[nat] or CITIES[nat])
    if nat in STREETS:
        places["streets"] = words(STREETS[nat])
    data.update(places)
    return {k: dedupe(v, rng) for k, v in data.items()}


def ascii_names(nats: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    """Email-safe spelling of every non-ASCII first/last name (randomuser transliterates names for emails)."""
    out: dict[str, str] = {}
    for data in nats.values():
        for key in ("male_first", "female_first", "last"):
            for name in data[key]:
                if not name.isascii():
                    out[name] = unidecode(name)
    return out


def main() -> None:
    nats = {nat: build_nat(nat) for nat in sorted([*LOCALES, "RS"])}
    for nat, data in nats.items():
        empty = [k for k, v in data.items() if not v]
        if empty:
            raise SystemExit(f"{nat}: empty lists {empty}")
    doc = {
        "nationalities": nats,
        "ascii": ascii_names(nats),
        "common": {
            "user1": USER1,
            "user2": USER2,
            "passwords": PASSWORD_WORDS,
            "timezones": [list(t) for t in TIMEZONES],
        },
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n", "utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
