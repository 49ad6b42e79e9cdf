"""The 22 demo venues and what each one looks, sounds and reads like: one Profile per venue.

Change a venue's recipe here and nowhere else. Shots are named in `core.corpus.visual.SHOTS`, sound events
in `core.corpus.audio.EVENTS`. Designed in, so the corpus tests what EASTERN claims:
- order-only pairs: the same shots in another order (Train Station / Airport, Mall / Miscellaneous Shop,
  Park / Zoo, Nightclub / Concert Hall), which a model that averages frames over time cannot separate;
- confusable pairs sharing shots, sounds and words, and borrowing each other's whole recipe per modality
  now and then (College Basketball Court / General Entertainment, Speakeasy / Garden: the paper's
  failure cases v3 and v4);
- a long tail: DEMO_VENUES is in decreasing order of frequency (see `venue_frequencies`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """One venue's recipe. `sounds` maps an event to the chance it occurs in a video of this venue."""

    shots: tuple[str, ...]  # the characteristic ordered shot sequence (2-4 shots)
    sounds: dict[str, float]
    words: tuple[str, ...]  # English words typical of the venue
    tags: tuple[str, ...]  # venue hashtags, CamelCase as people write them
    foreign: tuple[str, ...]  # the same ideas in Spanish, Chinese, Japanese...
    emoji: tuple[str, ...]
    groups: tuple[str, ...] = ()  # keys of GROUP_WORDS this venue shares words with
    confuse: str | None = None  # a venue whose words, shots and sounds this one borrows heavily
    tempo: float = 110.0  # bpm of beats and dribbles, chord changes of music
    root: float = 220.0  # Hz, root of music and chimes
    music: str = "muzak"  # one of audio.MUSIC_STYLES


PROFILES: dict[str, Profile] = {
    "Park": Profile(
        ("sky", "grass", "foliage"), {"birds": 0.7, "wind": 0.5, "babble": 0.3, "footsteps": 0.2},
        ("park", "picnic", "trees", "frisbee", "dog", "bench", "stroll", "lawn"),
        ("#ParkLife", "#CentralPark", "#PicnicTime"), ("parque", "公园", "公園", "paseo"), ("🌳", "🐕", "🌞"),
        groups=("outdoors",), music="acoustic", root=196.0),
    "Beach": Profile(
        ("sky", "water", "sand"), {"waves": 0.85, "wind": 0.5, "babble": 0.25, "birds": 0.2},
        ("beach", "waves", "sand", "ocean", "surf", "tan", "shore", "seashells"),
        ("#BeachDay", "#SurfsUp", "#OceanView"), ("playa", "olas", "海滩", "ビーチ", "mar"), ("🏖️", "🌊", "🐚"),
        groups=("outdoors", "travel"), music="acoustic", root=247.0),
    "Nightclub": Profile(
        ("neon", "spotlight", "crowd"), {"beat": 0.85, "music": 0.5, "cheer": 0.3, "babble": 0.25},
        ("club", "dj", "bass", "dancing", "bottles", "turnt", "rave", "edm"),
        ("#ClubLife", "#TurnUp", "#EDM"), ("discoteca", "夜店", "クラブ", "fiesta"), ("🎧", "🪩", "💃"),
        groups=("nightlife",), tempo=126.0, music="synth", root=110.0),
    "Stadium": Profile(
        ("sky", "crowd", "grass"), {"cheer": 0.8, "whistle": 0.4, "babble": 0.35, "beat": 0.2},
        ("stadium", "touchdown", "goal", "kickoff", "anthem", "tailgate", "football", "soccer"),
        ("#GameDay", "#SuperBowl", "#GoTeam"), ("estadio", "golazo", "体育场", "スタジアム"), ("⚽", "🏈", "🏟️"),
        groups=("sports",), tempo=96.0, music="orchestra", root=196.0),
    "Gym": Profile(
        ("tiles", "shelves", "neon"), {"beat": 0.6, "clink": 0.45, "babble": 0.25, "music": 0.35},
        ("gym", "workout", "gains", "lift", "squat", "cardio", "reps", "sweat"),
        ("#LegDay", "#FitFam", "#NoPainNoGain"), ("gimnasio", "entrenamiento", "健身房", "ジム"), ("💪", "🏋️"),
        groups=("sports",), tempo=100.0, music="synth", root=131.0),
    "General Entertainment": Profile(
        ("crowd", "court", "spotlight"), {"cheer": 0.6, "babble": 0.5, "music": 0.4, "dribble": 0.3, "beat": 0.2},
        ("show", "event", "entertainment", "performance", "arena", "tickets", "halftime", "hype"),
        ("#ShowTime", "#EventNight", "#GoodTimes"), ("espectáculo", "演出", "イベント", "evento"), ("🎟️", "🎉"),
        groups=("sports", "nightlife"), confuse="College Basketball Court", tempo=92.0, music="orchestra",
        root=175.0),
    "Coffee Shop": Profile(
        ("brick", "shelves", "candle"), {"babble": 0.6, "clink": 0.6, "music": 0.45},
        ("coffee", "latte", "espresso", "barista", "cappuccino", "mocha", "brew", "caffeine"),
        ("#ButFirstCoffee", "#LatteArt", "#CoffeeTime"), ("café", "cafecito", "咖啡", "コーヒー"), ("☕", "🥐"),
        groups=("food",), music="acoustic", root=262.0),
    "Bar": Profile(
        ("candle", "brick", "neon"), {"babble": 0.7, "clink": 0.5, "music": 0.4, "cheer": 0.2},
        ("beer", "drinks", "bartender", "pints", "shots", "happyhour", "tap", "whiskey"),
        ("#HappyHour", "#BeerTime", "#Cheers"), ("cerveza", "salud", "酒吧", "ビール"), ("🍺", "🍻"),
        groups=("nightlife", "food"), tempo=118.0, music="jazz", root=147.0),
    "Mall": Profile(
        ("tiles", "shelves", "crowd"), {"babble": 0.7, "music": 0.5, "chime": 0.3, "footsteps": 0.3},
        ("mall", "stores", "foodcourt", "escalator", "haul", "outlet", "shoppers", "fountain"),
        ("#ShoppingSpree", "#MallRat", "#Haul"), ("centro comercial", "compras", "商场", "ショッピング"), ("🛍️",),
        groups=("shopping",), music="muzak", root=294.0),
    "Concert Hall": Profile(
        ("spotlight", "neon", "crowd"), {"music": 0.85, "cheer": 0.45, "babble": 0.2},
        ("concert", "symphony", "orchestra", "encore", "violin", "opera", "conductor", "cello"),
        ("#LiveMusic", "#Symphony", "#ConcertNight"), ("concierto", "音乐会", "コンサート", "sinfonía"), ("🎻", "🎶"),
        groups=("culture", "nightlife"), tempo=84.0, music="orchestra", root=147.0),
    "Theme Park": Profile(
        ("sky", "rails", "crowd"), {"scream": 0.65, "rumble": 0.45, "music": 0.3, "babble": 0.4},
        ("rollercoaster", "rides", "disney", "thrill", "coaster", "funnelcake", "screaming", "fastpass"),
        ("#Disneyland", "#SixFlags", "#ThemeParkLife"), ("montaña rusa", "游乐园", "遊園地", "atracciones"),
        ("🎢", "🎡"), groups=("outdoors", "travel"), music="muzak", root=330.0),
    "University": Profile(
        ("sky", "brick", "crowd"), {"babble": 0.6, "chime": 0.3, "birds": 0.25, "footsteps": 0.35},
        ("campus", "class", "lecture", "dorm", "finals", "professor", "study", "graduation"),
        ("#CollegeLife", "#FinalsWeek", "#GradSchool"), ("universidad", "大学", "キャンパス", "clase"), ("🎓", "📚"),
        groups=("culture",), root=392.0),
    "Church": Profile(
        ("brick", "candle", "spotlight"), {"music": 0.7, "chime": 0.45, "babble": 0.2, "footsteps": 0.2},
        ("church", "sunday", "worship", "choir", "pray", "blessed", "sermon", "chapel"),
        ("#Blessed", "#SundayService", "#Worship"), ("iglesia", "misa", "教会", "教堂"), ("⛪", "🙏"),
        groups=("culture",), tempo=60.0, music="organ", root=98.0),
    "Airport": Profile(
        ("rails", "crowd", "tiles"), {"chime": 0.5, "rumble": 0.5, "babble": 0.55, "footsteps": 0.3},
        ("airport", "flight", "gate", "boarding", "terminal", "plane", "layover", "takeoff"),
        ("#TravelDay", "#Wanderlust", "#JetSet"), ("aeropuerto", "vuelo", "机场", "空港"), ("✈️", "🧳"),
        groups=("travel",), root=523.0),
    "Basketball Stadium": Profile(
        ("crowd", "court", "crowd"), {"cheer": 0.8, "dribble": 0.5, "whistle": 0.35, "beat": 0.3},
        ("basketball", "nba", "playoffs", "courtside", "jumbotron", "threes", "dunk", "lakers"),
        ("#NBAPlayoffs", "#Courtside", "#BallIsLife"), ("baloncesto", "篮球场", "バスケ", "canasta"), ("🏀", "🏆"),
        groups=("sports",), tempo=90.0, music="synth", root=131.0),
    "Zoo": Profile(
        ("foliage", "sky", "grass"), {"animal": 0.65, "birds": 0.4, "babble": 0.4},
        ("zoo", "animals", "elephant", "giraffe", "lion", "monkeys", "penguins", "tiger"),
        ("#ZooLife", "#AnimalLovers", "#SafariDay"), ("zoológico", "动物园", "動物園", "animales"), ("🦁", "🐘", "🦒"),
        groups=("outdoors",), music="acoustic", root=220.0),
    "Art Museum": Profile(
        ("tiles", "shelves", "spotlight"), {"footsteps": 0.6, "babble": 0.4, "music": 0.2},
        ("museum", "painting", "gallery", "exhibit", "sculpture", "masterpiece", "curator", "portrait"),
        ("#ArtMuseum", "#MuseumDay", "#ArtLovers"), ("museo", "arte", "美术馆", "美術館"), ("🖼️", "🎨"),
        groups=("culture", "travel"), music="orchestra", root=165.0),
    "Garden": Profile(
        ("foliage", "candle", "grass"), {"birds": 0.45, "music": 0.4, "babble": 0.35, "clink": 0.3, "wind": 0.3},
        ("garden", "flowers", "roses", "bloom", "plants", "greenhouse", "botanical", "petals"),
        ("#GardenParty", "#FlowerPower", "#InBloom"), ("jardín", "flores", "花园", "庭園"), ("🌸", "🌷", "🌿"),
        groups=("outdoors",), confuse="Speakeasy", tempo=104.0, music="jazz", root=165.0),
    "Train Station": Profile(
        ("tiles", "rails", "crowd"), {"rumble": 0.7, "chime": 0.55, "babble": 0.45, "footsteps": 0.3},
        ("train", "platform", "subway", "commute", "station", "metro", "tracks", "delayed"),
        ("#Commute", "#MTA", "#TrainLife"), ("estación", "tren", "火车站", "駅"), ("🚆", "🚇"),
        groups=("travel",), root=523.0),
    "College Basketball Court": Profile(
        ("court", "crowd", "court"), {"cheer": 0.6, "babble": 0.5, "dribble": 0.4, "music": 0.3, "whistle": 0.2},
        ("hoops", "dunk", "court", "buzzer", "ncaa", "layup", "rebound", "varsity"),
        ("#MarchMadness", "#Hoops", "#GameDay"), ("cancha", "baloncesto", "篮球", "バスケ"), ("🏀",),
        groups=("sports", "culture"), confuse="General Entertainment", tempo=92.0, music="orchestra",
        root=175.0),
    "Miscellaneous Shop": Profile(
        ("shelves", "crowd", "tiles"), {"babble": 0.55, "music": 0.45, "chime": 0.35, "footsteps": 0.3},
        ("shop", "souvenirs", "gadgets", "checkout", "aisle", "knickknacks", "deals", "giftshop"),
        ("#ShopLocal", "#Deals", "#RetailTherapy"), ("tienda", "商店", "お店", "regalos"), ("🛒", "🎁"),
        groups=("shopping",), music="muzak", root=294.0),
    "Speakeasy": Profile(
        ("brick", "foliage", "candle"), {"music": 0.5, "clink": 0.45, "babble": 0.4, "birds": 0.15, "wind": 0.15},
        ("cocktail", "jazz", "bourbon", "prohibition", "password", "mixology", "negroni", "bartender"),
        ("#Speakeasy", "#CocktailHour", "#HiddenBar"), ("coctel", "秘密酒吧", "バー", "bebidas"), ("🍸", "🥃", "🎷"),
        groups=("nightlife",), confuse="Garden", tempo=104.0, music="jazz", root=165.0),
}

DEMO_VENUES: list[str] = list(PROFILES)  # decreasing frequency: index 0 is the head of the long tail

# Words shared by every venue of a group: related venues are close in text too.
GROUP_WORDS: dict[str, tuple[str, ...]] = {
    "sports": ("game", "team", "fans", "score", "win", "ballgame", "crowd", "season"),
    "nightlife": ("drinks", "party", "nightout", "music", "dance", "vibes", "cheers", "dj"),
    "outdoors": ("nature", "sunshine", "outside", "walk", "sky", "green", "trees", "fresh"),
    "travel": ("travel", "trip", "vacation", "waiting", "tourists", "line", "adventure", "holiday"),
    "shopping": ("shopping", "buy", "sale", "store", "bags", "cashier", "bargain", "mall"),
    "culture": ("art", "beautiful", "history", "culture", "music", "campus", "quiet", "tour"),
    "food": ("coffee", "snacks", "menu", "table", "order", "yummy", "brunch", "drinks"),
}

# Words of the two confusable pairs, shared by both venues of a pair.
PAIR_WORDS: dict[frozenset[str], tuple[str, ...]] = {
    frozenset({"College Basketball Court", "General Entertainment"}):
        ("game", "arena", "crowd", "halftime", "tickets", "court", "hype", "buzzer", "show"),
    frozenset({"Speakeasy", "Garden"}):
        ("secret", "hidden", "cozy", "romantic", "vintage", "ivy", "lanterns", "datenight", "jazz"),
}

GENERIC_WORDS: tuple[str, ...] = (
    "fun", "friends", "lol", "today", "omg", "love", "best", "day", "night", "tonight", "weekend", "vibes",
    "so", "happy", "crazy", "wow", "yay", "cool", "awesome", "with", "my", "the", "here", "again", "finally",
    "bae", "squad", "mood", "literally", "cant", "even", "goals", "selfie", "haha", "yes", "bored", "hangout",
)
GENERIC_FOREIGN: tuple[str, ...] = (
    "amigos", "hoy", "jajaja", "qué", "niño", "今天", "朋友", "楽しい", "最高", "très", "über", "naïve",
    "mañana", "señor", "déjà vu", "ça va", "かわいい", "好玩",
)
GENERIC_TAGS: tuple[str, ...] = (
    "#NoFilter", "#vine", "#tbt", "#FollowMe", "#LOL", "#weekend", "#fun", "#YOLO", "#love", "#BestDayEver",
    "#SquadGoals", "#TGIF",
)
GENERIC_EMOJI: tuple[str, ...] = ("😂", "😍", "🔥", "💯", "❤️", "😎", "🙌", "✨", "😭", "👀")


def pair_words(venue: str) -> tuple[str, ...]:
    """Words this venue shares with its confusable partner (empty when it has none)."""
    for pair, words in PAIR_WORDS.items():
        if venue in pair:
            return words
    return ()
