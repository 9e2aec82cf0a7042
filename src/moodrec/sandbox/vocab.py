"""Fixed word lists of the sandbox world: genres, audio clusters, moods, lyric topics, names.

Everything here is a constant (tuples, never sets, so iteration order is fixed); the
random choices made from these lists live in the generator modules. No entry contains a
tab or a newline, and no lyric word contains a Genius artifact token (``embed``,
``contributors``).
"""

from __future__ import annotations

from moodrec import domain

# Word lists are laid out by hand, several entries a line, to stay readable.
# fmt: off

#: The nine super-genres, in the order used by every taste vector and affinity matrix.
SUPER_GENRES = domain.SUPER_GENRES

#: Share of artists whose primary super-genre is each of :data:`SUPER_GENRES`.
SUPER_GENRE_SHARE: tuple[float, ...] = (0.16, 0.22, 0.15, 0.10, 0.05, 0.07, 0.08, 0.10, 0.07)

#: super-genre → ((sub-genre, (micro-genre, ...)), ...); every name is unique in the tree.
GENRE_TREE: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    (
        "pop",
        (
            ("synthpop", ("dark synthpop", "swedish synthpop", "futurepop")),
            ("indie pop", ("twee pop", "chamber pop", "dutch indie pop")),
            ("dance pop", ("europop", "bubblegum dance", "k-pop")),
            ("electropop", ("french electropop", "scandipop", "dream pop")),
        ),
    ),
    (
        "rock",
        (
            ("indie rock", ("post-punk revival", "math rock", "swedish indie rock")),
            ("alternative rock", ("grunge", "britpop", "shoegaze")),
            ("classic rock", ("blues rock", "southern rock", "psychedelic rock")),
            ("punk rock", ("pop punk", "hardcore punk", "skate punk")),
        ),
    ),
    (
        "electronica",
        (
            ("house", ("deep house", "tech house", "french house")),
            ("techno", ("minimal techno", "detroit techno", "dub techno")),
            ("drum and bass", ("liquid funk", "neurofunk", "jungle")),
            ("downtempo", ("trip hop", "chillout", "ambient dub")),
        ),
    ),
    (
        "hip hop",
        (
            ("east coast hip hop", ("hardcore hip hop", "boom bap", "jazz rap")),
            ("west coast hip hop", ("g-funk", "gangsta rap", "hyphy")),
            ("underground hip hop", ("abstract hip hop", "alternative hip hop", "turntablism")),
            ("european hip hop", ("dutch hip hop", "german hip hop", "french hip hop")),
        ),
    ),
    (
        "classical",
        (
            ("baroque", ("baroque violin", "harpsichord", "early music")),
            ("romantic", ("late romantic", "romantic piano", "russian romanticism")),
            ("contemporary classical", ("minimalism", "spectral music", "polish modern classical")),
            ("opera", ("italian opera", "german opera", "operetta")),
        ),
    ),
    (
        "jazz",
        (
            ("bebop", ("hard bop", "post-bop", "cool jazz")),
            ("jazz fusion", ("jazz funk", "nordic jazz", "acid jazz")),
            ("vocal jazz", ("jazz standards", "swing revival", "bossa nova")),
            ("free jazz", ("avant-garde jazz", "free improvisation", "spiritual jazz")),
        ),
    ),
    (
        "folk",
        (
            ("indie folk", ("freak folk", "chamber folk", "anti-folk")),
            ("traditional folk", ("irish folk", "celtic folk", "appalachian folk")),
            ("folk rock", ("british folk rock", "country rock", "americana")),
            ("singer-songwriter", ("acoustic singer-songwriter", "new weird america",
                                   "swedish singer-songwriter")),
        ),
    ),
    (
        "metal",
        (
            ("heavy metal", ("nwobhm", "power metal", "speed metal")),
            ("black metal", ("norwegian black metal", "atmospheric black metal",
                             "depressive black metal")),
            ("death metal", ("melodic death metal", "swedish death metal",
                             "technical death metal")),
            ("doom metal", ("stoner doom", "funeral doom", "sludge metal")),
        ),
    ),
    (
        "experimental",
        (
            ("noise", ("harsh noise", "japanese noise", "power electronics")),
            ("ambient", ("dark ambient", "drone", "field recordings")),
            ("post-rock", ("instrumental post-rock", "icelandic post-rock", "post-metal")),
            ("idm", ("glitch", "braindance", "clicks and cuts")),
        ),
    ),
)

#: Symmetric-ish cross-over weights between super-genres (row: primary, column: other).
SUPER_GENRE_CROSSOVER: tuple[tuple[float, ...], ...] = (
    # pop  rock  elec  hiph  clas  jazz  folk  metl  expr
    (0.0, 1.0, 1.5, 1.0, 0.1, 0.3, 0.4, 0.05, 0.2),  # pop
    (1.0, 0.0, 0.4, 0.2, 0.1, 0.2, 1.0, 1.5, 0.6),  # rock
    (1.5, 0.4, 0.0, 0.8, 0.1, 0.3, 0.1, 0.1, 1.2),  # electronica
    (1.2, 0.3, 0.8, 0.0, 0.05, 0.8, 0.1, 0.1, 0.3),  # hip hop
    (0.2, 0.1, 0.2, 0.05, 0.0, 1.5, 0.5, 0.1, 1.0),  # classical
    (0.3, 0.2, 0.4, 0.8, 1.2, 0.0, 0.4, 0.05, 0.6),  # jazz
    (0.4, 1.5, 0.1, 0.1, 0.4, 0.4, 0.0, 0.2, 0.4),  # folk
    (0.05, 1.5, 0.1, 0.1, 0.2, 0.05, 0.2, 0.0, 0.8),  # metal
    (0.2, 0.6, 1.5, 0.2, 0.8, 0.6, 0.3, 0.6, 0.0),  # experimental
)

#: The seed study's twelve Spotify audio features, in truth-column order.
AUDIO_FEATURES = domain.AUDIO_FEATURES

#: Planted audio clusters: label and mean of each feature (mode as P(major), duration in s).
AUDIO_CLUSTERS: tuple[tuple[str, dict[str, float]], ...] = (
    ("upbeat dance", dict(danceability=0.76, energy=0.80, speechiness=0.07, acousticness=0.08,
                          instrumentalness=0.10, liveness=0.15, valence=0.76, loudness=-5.0,
                          tempo=124.0, mode=0.60, duration_s=230.0)),
    ("bright pop", dict(danceability=0.64, energy=0.62, speechiness=0.05, acousticness=0.28,
                        instrumentalness=0.02, liveness=0.15, valence=0.68, loudness=-6.5,
                        tempo=112.0, mode=0.78, duration_s=215.0)),
    ("loud aggressive", dict(danceability=0.34, energy=0.92, speechiness=0.09, acousticness=0.02,
                             instrumentalness=0.20, liveness=0.20, valence=0.30, loudness=-4.2,
                             tempo=142.0, mode=0.48, duration_s=265.0)),
    ("dark electronic", dict(danceability=0.62, energy=0.70, speechiness=0.06, acousticness=0.06,
                             instrumentalness=0.55, liveness=0.12, valence=0.24, loudness=-8.0,
                             tempo=128.0, mode=0.40, duration_s=330.0)),
    ("rap", dict(danceability=0.78, energy=0.68, speechiness=0.32, acousticness=0.12,
                 instrumentalness=0.01, liveness=0.20, valence=0.55, loudness=-6.0,
                 tempo=94.0, mode=0.55, duration_s=225.0)),
    ("melancholic acoustic", dict(danceability=0.45, energy=0.30, speechiness=0.04,
                                  acousticness=0.75, instrumentalness=0.06, liveness=0.12,
                                  valence=0.24, loudness=-11.0, tempo=104.0, mode=0.55,
                                  duration_s=240.0)),
    ("calm instrumental", dict(danceability=0.30, energy=0.16, speechiness=0.04, acousticness=0.88,
                               instrumentalness=0.85, liveness=0.10, valence=0.32, loudness=-19.0,
                               tempo=88.0, mode=0.62, duration_s=330.0)),
    ("live jam", dict(danceability=0.50, energy=0.62, speechiness=0.06, acousticness=0.35,
                      instrumentalness=0.30, liveness=0.70, valence=0.56, loudness=-9.0,
                      tempo=120.0, mode=0.60, duration_s=380.0)),
)

#: Affinity of each super-genre (row, :data:`SUPER_GENRES` order) for each audio cluster.
SUPER_GENRE_CLUSTER_AFFINITY: tuple[tuple[float, ...], ...] = (
    (3.0, 4.0, 0.3, 1.0, 0.8, 1.5, 0.1, 0.3),  # pop
    (0.5, 1.5, 3.0, 0.3, 0.2, 1.5, 0.2, 1.5),  # rock
    (3.0, 1.0, 0.5, 3.0, 0.3, 0.3, 1.0, 0.3),  # electronica
    (1.0, 0.8, 0.5, 0.5, 5.0, 0.5, 0.1, 0.3),  # hip hop
    (0.05, 0.1, 0.2, 0.1, 0.05, 1.5, 5.0, 0.8),  # classical
    (0.5, 0.5, 0.2, 0.3, 0.3, 1.0, 2.0, 3.0),  # jazz
    (0.2, 1.0, 0.2, 0.1, 0.1, 4.0, 1.0, 1.5),  # folk
    (0.1, 0.1, 5.0, 0.8, 0.1, 0.5, 0.2, 0.8),  # metal
    (0.2, 0.2, 1.0, 2.5, 0.2, 1.0, 3.0, 0.5),  # experimental
)

#: P(instrumental track) per audio cluster (overall about 10 % of tracks).
CLUSTER_INSTRUMENTAL_P: tuple[float, ...] = (0.04, 0.01, 0.05, 0.30, 0.005, 0.03, 0.50, 0.12)

#: Mood states of a listening session and their centres in (valence, energy).
MOOD_STATES: tuple[tuple[str, float, float], ...] = (
    ("calm", 0.50, 0.22),
    ("happy", 0.80, 0.62),
    ("energetic", 0.55, 0.88),
    ("sad", 0.18, 0.30),
)

#: Lyric topics: label and its words, most probable first (weights fall off with rank).
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("love", ("love", "heart", "kiss", "darling", "forever", "hold", "together", "sweet",
              "touch", "lover", "tender", "arms", "beautiful", "desire", "honey", "embrace",
              "promise", "adore", "angel", "romance", "cherish", "warm", "devotion", "yours")),
    ("party", ("dance", "night", "party", "floor", "music", "drink", "club", "move", "shake",
               "body", "lights", "weekend", "loud", "crowd", "bass", "groove", "celebrate",
               "jump", "wild", "champagne", "bounce", "rhythm", "saturday", "fun")),
    ("heartbreak", ("tears", "gone", "goodbye", "cry", "alone", "broken", "lonely", "miss",
                    "leave", "sorry", "pain", "memories", "lost", "empty", "apart", "cold",
                    "regret", "hurt", "lie", "forget", "ashes", "fading", "silence", "weep")),
    ("street", ("street", "money", "block", "hustle", "city", "game", "gun", "cash", "corner",
                "crew", "respect", "boss", "police", "real", "grind", "hood", "deal", "chain",
                "rich", "ride", "fame", "hustler", "trap", "paper")),
    ("nature", ("river", "sun", "mountain", "sea", "rain", "wind", "tree", "sky", "morning",
                "field", "flower", "snow", "ocean", "valley", "stone", "moonlight", "forest",
                "spring", "autumn", "meadow", "bird", "harvest", "shore", "season")),
    ("faith", ("lord", "pray", "soul", "heaven", "grace", "spirit", "glory", "holy", "mercy",
               "believe", "amen", "saviour", "church", "blessed", "prayer", "salvation",
               "eternal", "sin", "redeem", "chapel", "psalm", "kneel", "hallelujah", "gospel")),
    ("darkness", ("death", "blood", "dark", "shadow", "fire", "grave", "demon", "fear", "hell",
                  "curse", "black", "burn", "nightmare", "doom", "void", "scream", "abyss", "wrath",
                  "throne", "plague", "serpent", "decay", "torment", "ritual")),
    ("freedom", ("road", "free", "highway", "run", "wheels", "escape", "horizon", "fly",
                 "dream", "journey", "open", "wings", "chase", "rebel", "mile", "drive",
                 "wander", "engine", "border", "distance", "sunset", "leaving", "train", "home")),
)

#: Affinity of each super-genre (row) for each topic (column, :data:`TOPICS` order).
SUPER_GENRE_TOPIC_AFFINITY: tuple[tuple[float, ...], ...] = (
    # love party heart street nature faith dark freedom
    (3.0, 2.0, 2.0, 0.2, 0.3, 0.2, 0.1, 0.6),  # pop
    (1.0, 0.6, 1.5, 0.3, 0.5, 0.3, 1.0, 2.0),  # rock
    (1.0, 3.0, 0.6, 0.3, 0.4, 0.2, 0.6, 1.0),  # electronica
    (0.6, 2.0, 0.4, 4.0, 0.1, 0.3, 0.4, 0.5),  # hip hop
    (1.0, 0.1, 0.8, 0.05, 2.0, 2.5, 0.5, 0.3),  # classical
    (2.0, 0.8, 1.2, 0.3, 1.0, 0.6, 0.2, 0.6),  # jazz
    (0.8, 0.2, 1.0, 0.2, 3.0, 1.0, 0.3, 2.0),  # folk
    (0.1, 0.2, 0.4, 0.2, 0.3, 1.0, 4.0, 1.0),  # metal
    (0.4, 0.4, 0.6, 0.2, 2.0, 0.4, 2.0, 0.6),  # experimental
)

#: Valence shift of a track's audio per unit of each topic's weight (sad lyrics, sad sound).
TOPIC_VALENCE_SHIFT: tuple[float, ...] = (0.08, 0.15, -0.18, 0.0, 0.05, 0.03, -0.15, 0.05)

#: English glue words between topic words (stop words a topic model should ignore).
FILLER_WORDS: tuple[str, ...] = (
    "i", "you", "the", "and", "my", "me", "we", "a", "in", "to", "it", "of", "your", "on",
    "is", "all", "oh", "so", "just", "with", "now", "can", "be", "this", "that", "for", "when",
    "no", "don't", "i'm", "yeah", "baby", "never", "know", "come", "like", "down", "up", "time",
    "feel", "say", "tonight", "again", "go", "want", "way", "what", "out", "got", "let",
)

#: Non-English lyric languages (ISO 639-1) and small word lists for each.
LANGUAGE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("es", ("amor", "corazón", "noche", "vida", "tu", "mi", "que", "el", "la", "de", "y", "te",
            "quiero", "siempre", "cielo", "sol", "mar", "luna", "fuego", "baila", "calle",
            "sueño", "dolor", "alma", "besos", "nunca", "contigo", "volver", "mañana", "libre")),
    ("de", ("liebe", "herz", "nacht", "leben", "ich", "du", "und", "die", "der", "das", "nicht",
            "immer", "himmel", "sonne", "meer", "mond", "feuer", "tanzen", "straße", "traum",
            "schmerz", "seele", "küssen", "niemals", "zusammen", "morgen", "frei", "wieder",
            "allein", "welt")),
    ("fr", ("amour", "cœur", "nuit", "vie", "je", "tu", "et", "la", "le", "les", "pas", "toujours",
            "ciel", "soleil", "mer", "lune", "feu", "danser", "rue", "rêve", "douleur", "âme",
            "baiser", "jamais", "ensemble", "demain", "libre", "encore", "seul", "monde")),
    ("nl", ("liefde", "hart", "nacht", "leven", "ik", "jij", "en", "de", "het", "een", "niet",
            "altijd", "hemel", "zon", "zee", "maan", "vuur", "dansen", "straat", "droom", "pijn",
            "ziel", "kussen", "nooit", "samen", "morgen", "vrij", "weer", "alleen", "wereld")),
    ("pt", ("amor", "coração", "noite", "vida", "eu", "você", "e", "o", "a", "de", "não",
            "sempre", "céu", "sol", "mar", "lua", "fogo", "dançar", "rua", "sonho", "dor", "alma",
            "beijo", "nunca", "juntos", "amanhã", "livre", "saudade", "sozinho", "mundo")),
)

# --- names -------------------------------------------------------------------------------

ADJECTIVES: tuple[str, ...] = (
    "Black", "White", "Red", "Blue", "Golden", "Silver", "Silent", "Electric", "Broken",
    "Burning", "Frozen", "Hollow", "Velvet", "Crystal", "Neon", "Paper", "Glass", "Iron",
    "Wild", "Lonely", "Lost", "Secret", "Hidden", "Sleeping", "Dancing", "Falling", "Rising",
    "Crimson", "Scarlet", "Pale", "Dark", "Bright", "Northern", "Southern", "Western", "Eastern",
    "Little", "Big", "Young", "Old", "Modern", "Ancient", "Holy", "Wicked", "Sweet", "Bitter",
    "Strange", "Quiet", "Loud", "Soft", "Heavy", "Cosmic", "Atomic", "Digital", "Analog",
    "Magnetic", "Radio", "Midnight", "Morning", "Summer", "Winter", "Autumn", "Spring", "Last",
    "First", "Final", "Eternal", "Infinite", "Endless", "Empty", "Savage", "Gentle", "Happy",
    "Sad", "Mad", "Lazy", "Crazy", "Lucky", "Haunted", "Sacred", "Rusty", "Dusty", "Muddy",
    "Misty", "Stormy", "Sunny", "Cloudy", "Starry", "Shining", "Fading", "Howling", "Screaming",
    "Whispering", "Wandering", "Drifting", "Flying", "Sinking", "Floating", "Distant", "Faded",
    "Tiny", "Giant", "Royal", "Rebel", "Urban", "Rural", "Arctic", "Tropical", "Desert", "Ocean",
    "Polar", "Solar", "Lunar", "Stellar", "Plastic", "Rubber", "Wooden", "Marble", "Concrete",
    "Chrome", "Copper", "Amber", "Ivory", "Emerald", "Violet", "Indigo", "Purple", "Orange",
    "Green", "Grey", "Naked", "Sonic", "Mystic", "Psychic", "Twisted", "Tangled", "Restless",
    "Reckless", "Fearless", "Hopeless", "Nameless", "Faceless", "Careless", "Velour", "Feral",
)

NOUNS: tuple[str, ...] = (
    "Heart", "Moon", "Sun", "Star", "River", "Ocean", "Mountain", "Forest", "Desert", "City",
    "Garden", "Ghost", "Shadow", "Fire", "Storm", "Rain", "Snow", "Wind", "Thunder", "Light",
    "Night", "Day", "Dream", "Echo", "Mirror", "Window", "Door", "Road", "Highway", "Bridge",
    "Tower", "Castle", "Island", "Harbor", "Valley", "Canyon", "Meadow", "Lake", "Sea", "Sky",
    "Cloud", "Horizon", "Planet", "Comet", "Galaxy", "Orbit", "Rocket", "Engine", "Machine",
    "Radio", "Signal", "Static", "Circuit", "Wire", "Crystal", "Diamond", "Pearl", "Stone",
    "Bone", "Blood", "Tear", "Smile", "Kiss", "Whisper", "Scream", "Song", "Melody", "Rhythm",
    "Drum", "Guitar", "Piano", "Violin", "Choir", "Church", "Temple", "Palace", "Prison",
    "Hotel", "Motel", "Cafe", "Station", "Airport", "Harvest", "Winter", "Summer", "Season",
    "Morning", "Evening", "Twilight", "Dawn", "Dusk", "Midnight", "Hour", "Minute", "Year",
    "Century", "Memory", "Story", "Secret", "Promise", "Lie", "Truth", "Wish", "Prayer", "Angel",
    "Devil", "Saint", "Sinner", "King", "Queen", "Prince", "Knight", "Soldier", "Sailor", "Pilot",
    "Doctor", "Teacher", "Stranger", "Lover", "Friend", "Enemy", "Child", "Wolf", "Fox", "Bear",
    "Raven", "Crow", "Owl", "Hawk", "Eagle", "Swan", "Tiger", "Lion", "Snake", "Dragon", "Horse",
    "Rabbit", "Deer", "Whale", "Shark", "Spider", "Butterfly", "Bee", "Rose", "Lily", "Orchid",
    "Tree", "Leaf", "Flower", "Seed", "Root", "Feather", "Wing", "Crown", "Sword", "Shield",
    "Arrow", "Anchor", "Compass", "Map", "Letter", "Postcard", "Photograph", "Film", "Camera",
    "Television", "Telephone", "Satellite", "Lantern", "Candle", "Flame", "Ash", "Smoke", "Dust",
    "Sand", "Glass", "Silk", "Velvet", "Gold", "Silver", "Copper", "Iron", "Steel", "Paper",
    "Ink", "Paint", "Canvas", "Statue", "Fountain", "Carousel", "Circus", "Parade", "Festival",
)

PLURAL_NOUNS: tuple[str, ...] = tuple(
    n + ("es" if n.endswith(("sh", "ch", "s", "x")) else "s")
    for n in NOUNS
    if not n.endswith(("y", "f", "fe", "Glass", "Sand", "Dust", "Smoke", "Gold", "Silver",
                       "Copper", "Iron", "Steel", "Ink", "Silk", "Velvet", "Blood", "Snow",
                       "Rain", "Wind", "Fire", "Thunder", "Light", "Paper", "Paint",
                       "Child", "Deer"))
)

FIRST_NAMES: tuple[str, ...] = (
    "John", "Paul", "George", "Mary", "Anna", "Emma", "James", "David", "Michael", "Sarah",
    "Laura", "Peter", "Thomas", "Daniel", "Matthew", "Lucy", "Alice", "Kate", "Jack", "Harry",
    "Oliver", "Charlie", "Sophie", "Grace", "Chloe", "Ella", "Ruby", "Max", "Leo", "Sam", "Ben",
    "Joe", "Tom", "Nick", "Chris", "Steve", "Mark", "Luke", "Adam", "Eve", "Nina", "Lena", "Mia",
    "Zoe", "Amy", "Beth", "Jane", "Joan", "Ray", "Roy", "Carl", "Karl", "Hans", "Lars", "Sven",
    "Erik", "Nils", "Anders", "Johan", "Pieter", "Jan", "Marco", "Luca", "Paolo", "Carlos",
    "Diego", "Pablo", "Miguel", "Ana", "Rosa", "Elena", "Sofia", "Ivan", "Boris", "Olga", "Yuri",
    "Kenji", "Yuki", "Hiro", "Aiko", "Marcus", "Andre", "Jamal", "Tyrone", "Darnell", "Keisha",
    "Aaliyah", "Jasmine", "Otis", "Etta", "Nina", "Billie", "Ella", "Miles", "Dexter", "Chet",
    "Wes", "Wayne", "Hank", "Patsy", "Dolly", "Woody", "Pete", "Bob", "Neil", "Joni", "Leonard",
    "Nick", "Tori", "Fiona", "Regina", "Rufus", "Sufjan", "Conor", "Devendra", "Joanna",
    "Ezra", "Felix", "Hugo", "Oscar", "Victor", "Simon", "Henry", "Arthur", "Walter", "Frank",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Johnson",
    "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green",
    "Hall", "Wood", "Harris", "Lewis", "Martin", "Jackson", "Clarke", "Clark", "Turner", "Hill",
    "Scott", "Cooper", "Morris", "Ward", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan",
    "Patel", "Young", "Allen", "Mitchell", "James", "Anderson", "Phillips", "Lee", "Bell",
    "Parker", "Davis", "Miller", "Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez",
    "Gonzalez", "Perez", "Sanchez", "Ramirez", "Torres", "Rivera", "Gomez", "Diaz", "Reyes",
    "Cruz", "Morales", "Ortiz", "Gutierrez", "Chavez", "Ramos", "Ruiz", "Alvarez", "Mendoza",
    "Castillo", "Jimenez", "Moreno", "Romero", "Herrera", "Medina", "Aguilar", "Vargas",
    "Castro", "Guzman", "Fernandez", "Silva", "Santos", "Costa", "Pereira", "Oliveira", "Almeida",
    "Carvalho", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "Bruno", "Gallo", "Conti", "Schmidt", "Schneider", "Fischer", "Weber",
    "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf",
    "Neumann", "Schwarz", "Zimmermann", "Braun", "Hofmann", "Hartmann", "Lange", "Werner",
    "Krause", "Lehmann", "Jansen", "Bakker", "Visser", "Smit", "Mulder", "Bos", "Vos", "Peters",
    "Hendriks", "Dekker", "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson",
    "Olsson", "Persson", "Svensson", "Gustafsson", "Tanaka", "Suzuki", "Takahashi", "Watanabe",
    "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato", "Ivanov", "Petrov", "Sidorov", "Volkov",
    "Novak", "Kowalski", "Nowak", "Wisniewski", "Dvorak", "Horvat", "Kovacs", "Nagy", "Szabo",
    "Murphy", "Kelly", "Byrne", "Ryan", "Walsh", "O'Brien", "O'Connor", "McCarthy", "Doyle",
)

#: Words for non-ASCII names: accented Latin, Japanese and Cyrillic.
ACCENTED_WORDS: tuple[str, ...] = (
    "Björn", "Sigurður", "Jérôme", "Łukasz", "Zoë", "José", "François", "Müller", "Núñez",
    "Ødegaard", "Ångström", "Señor", "Café", "Éclair", "Fête", "Mañana", "Für", "Über", "Schön",
    "Göteborg", "Malmö", "Tromsø", "Kraków", "Łódź", "São", "Coração", "Canção", "Rêverie",
    "Noël", "Chloé", "Renée", "Dvořák", "Žižek", "Ćevap", "Ørsted", "Æther", "Straße", "Größe",
)
JAPANESE_WORDS: tuple[str, ...] = (
    "東京", "月", "夜", "少女", "電気", "桜", "夢", "空", "風", "花", "雨", "星", "海", "光",
    "赤い", "青い", "白い", "猫", "犬", "鳥", "恋", "心", "愛", "時計", "戦場", "世界", "未来",
)
CYRILLIC_WORDS: tuple[str, ...] = (
    "Белые", "Ночь", "Город", "Солнце", "Ветер", "Звезда", "Море", "Река", "Зима", "Лето",
    "Весна", "Осень", "Небо", "Огонь", "Дождь", "Снег", "Сердце", "Птица", "Дорога", "Песня",
    "Свет", "Тень", "Луна", "Время", "Дом", "Мечта", "Любовь", "Тишина", "Поезд", "Крылья",
)

TRACK_PHRASES: tuple[str, ...] = (
    "Waiting for", "Dancing in", "Lost in", "Running from", "Back to", "Under the", "Into the",
    "Far from", "Letters to", "Song for", "Ode to", "Love Is", "Beyond the", "Down by the",
    "Out of the", "Chasing the", "Dreaming of", "Leaving the", "Burning the", "Calling the",
    "Return of the", "Ballad of the", "Night of the", "Heart of the", "Edge of the",
)

TRACK_SUFFIXES: tuple[str, ...] = (
    " (Live)", " (Remix)", " (Acoustic)", " (Demo)", " - Radio Edit", " (Live_2008)",
    " (Extended Mix)", " (Reprise)", " (Remastered)", " [Bonus Track]", " (Interlude)",
)

ARTIST_PREFIXES: tuple[str, ...] = ("DJ", "MC", "Lil", "Young", "Big", "Dr.", "Mr.", "Miss")

#: Planted artist names with the real file's quirks: quotes, leading quote, non-ASCII.
PLANTED_ARTIST_NAMES: tuple[str, ...] = (
    'Johnny "Hammond" Smith',
    '"Weird Al" Yankovic',
    "坂本龍一",
    "Björk",
    "Сплин",
    "Sigur Rós",
    "Mötley Crüe",
    'Jimmy "Bo" Horne',
)

#: Planted track names: leading quotes, apostrophes and non-ASCII.
PLANTED_TRACK_NAMES: tuple[str, ...] = (
    '"Heroes"',
    "Ágætis byrjun",
    "戦場のメリークリスマス",
    "Выхода нет",
    'The "Real" Thing',
)

#: The track name planted with two spellings under one MBID (canonical, variant).
SPELLING_VARIANT: tuple[str, str] = ("Don't Stop", "Dont Stop")

#: Listener countries with weights taken from the shape of the real profile file.
COUNTRIES: tuple[tuple[str, float], ...] = (
    ("United States", 228), ("United Kingdom", 126), ("Poland", 50), ("Germany", 36),
    ("Norway", 35), ("Finland", 32), ("Canada", 32), ("Turkey", 28), ("Italy", 27),
    ("Sweden", 24), ("Netherlands", 23), ("Russian Federation", 22), ("Australia", 22),
    ("Brazil", 20), ("Spain", 17), ("France", 14), ("Mexico", 12), ("Belgium", 9),
    ("Argentina", 9), ("Romania", 8), ("Portugal", 8), ("Chile", 8), ("Croatia", 7),
    ("Bulgaria", 7), ("Japan", 6), ("Austria", 6), ("Czech Republic", 6), ("Denmark", 5),
    ("Switzerland", 5), ("Israel", 4), ("Ukraine", 4), ("Estonia", 3), ("Iceland", 2),
    ("Colombia", 2), ("Greece", 2), ("Ireland", 2), ("Latvia", 2), ("Lithuania", 2),
    ("Hungary", 2), ("Slovakia", 2), ("India", 1), ("Korea, Republic of", 1), ("Peru", 1),
    ("Cote D'Ivoire", 1), ("Trinidad and Tobago", 1), ("Bosnia and Herzegovina", 1),
)

MONTH_ABBR: tuple[str, ...] = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)
# fmt: on
