"""Word lists behind every label the claim extractor assigns.

Each label is decided by the first (or every) pattern of a small, named table that matches the
sentence; keeping them here, as data, is what makes each decision explainable: ``explain()`` in
``ingest.claims.extract`` reports which entry fired.
"""

from __future__ import annotations

import re

__all__ = [
    "BACKGROUND",
    "COMPLEXITY",
    "DATA_PROPERTY",
    "DOMAIN_PATTERNS",
    "DOWNSTREAM_EXPLICIT",
    "FIRST_PERSON",
    "HEARSAY",
    "ML_CONTEXT",
    "NOT_A_LAW",
    "OTHER_FIELD",
    "PREDICTION_ACCURACY",
    "RELATION_PATTERNS",
    "RELEASE",
    "RESPONSE_PATTERNS",
    "SCALING_FACTOR",
    "SETUP",
    "SUPPORT_PATTERNS",
    "TITLE_LAW",
    "TITLE_SCALING_LAW",
    "VARIABLE_PATTERNS",
]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# -- what makes a sentence state a quantitative scaling relationship -------------------------
# name -> (pattern, strong). A strong cue alone makes a claim; a weak one needs a scale variable.
RELATION_PATTERNS: dict[str, tuple[re.Pattern[str], bool]] = {
    "scaling_law": (_rx(r"scaling[- ]laws?|\blaws?\b"), True),
    "power_law": (
        _rx(
            r"power[- ]?laws?|\bpropto\b|∝|(?!(?<![A-Za-z])[RL]\s?\^)[A-Za-z}]"
            # a vulgar fraction is a number too (``N^{-½}``)
            r"\s?\^\s?\{\s?[-−]?\s?(?:\d|[\u00bc-\u00be\u2150-\u215e]|\\?alpha|\\?beta|c\b)|"
            # the same power of a ratio of letters, ``(N_c/N)^{0.076}``, ``frac{N_c}{N}right)^{``,
            # the constant also with the quantity's subscript as a superscript (``C_c^{min}``)
            r"(?:\(\s?(?:[A-Za-z](?:_\{?\w+\}?)?(?:\^\{?[A-Za-z]+\}?)?|1)\s?/\s?"
            r"[A-Za-z](?:_\{?\w+\}?)?(?:\^\{?[A-Za-z]+\}?)?\s?"
            r"|frac\s?\{[^{}]{1,8}(?:\{[^{}]{1,8}\})?\}\s?\{[^{}]{1,8}(?:\{[^{}]{1,8}\})?\}"
            r"\s?\\?right\s?)\)"
            r"\s?\^\s?\{\s?[-−]?\s?(?:\d|[\u00bc-\u00be\u2150-\u215e]|\\?alpha|\\?beta)|"
            r"(?<!Lyapunov )(?<!Hurst )(?<!critical )exponents?\b(?! bits)"
            r"|irreducible (?:loss|error)"
        ),
        True,
    ),
    "scales_as": (
        _rx(
            # "scales" after a quantifier is the noun ("tasks at various scales with ..."), no verb
            r"(?<!various )(?<!different )(?<!multiple )(?<!several )(?<!many )(?<!all )"
            r"(?<!arbitrary )(?<!other )(?<!these )(?<!those )(?<!its )(?<!their )"
            r"\bscal(?:es|ed)\s+(?:approximately\s+|roughly\s+)?(?:as\b|like\b|linearly"
            r"|sublinearly|"
            r"superlinearly|log-linearly|logarithmically|proportionally|inversely|predictably|"
            r"smoothly|reliably|with\b(?!\s+respect))"
            r"|\bscaling\s+(?:linearly|sublinearly|superlinearly|predictably|smoothly|reliably)"
            # a comparison of scaling trends; "scales favourably" alone is a boast, not a law
            r"|\bscal(?:e|es|ed)\s+(?:better|worse|poorly)\s+(?:than|compared|asymptotically)"
        ),
        False,
    ),
    "scales_predictably": (
        _rx(r"\bscal(?:es|ed|ing)\s+(?:predictably|reliably|log-linearly|as a power\b)"),
        True,
    ),
    "scaling_behavior": (
        _rx(
            r"(?:(?:empirical|quantitative)\s+)?\bscaling\s+(?:behaviou?rs?|(?<=(?:rical"
            r"|ative)\sscaling\s)propert(?:y|ies)|trends?|curves?|relation(?:ship)?s?|"
            r"phenomen(?:on|a)|patterns?|functions?|coefficients?|formulations?|regimes?"
            r"|exponents?|effects?|"
            r"crossover|rules?\s+(?:for|of)\s+(?:optimal|the\s+optimal|hyper))"
            r"|(?:inverse|U-shaped|positive|negative|sigmoid(?:-shaped)?)\s+scaling"
        ),
        True,
    ),
    # "a scaling experiment", "the scaling of data size": a study across scale (needs a variable).
    "scaling_study": (
        _rx(
            r"\bscaling (?:experiments?|analys[ie]s|stud(?:y|ies)|sweeps?|ladders?)\b"
            r"|\b(?:joint|simultaneous) scaling\b|\bscaling (?:of|in) (?:the )?(?:data|model"
            r"|compute|training|parameters|width|depth|batch|number|amount|size)"
        ),
        False,
    ),
    # A named curve shape ("an S-shaped curve in model size", "double descent"); needs a variable.
    "shape": (
        _rx(
            r"S-shaped|S-curve|\bsigmoid(?:al)?\b|double descent|\b(?:follows?|obeys?) an? [\w-]+"
            r"(?: [\w-]+)? curve"
        ),
        False,
    ),
    "log_linear": (_rx(r"log-linear(?:ly)?|logarithmic(?:ally)?\b|inversely proportional"), False),
    "function_of": (
        _rx(
            r"\bas (?:a )?functions? of|in terms of the scale|relationships? between"
            # a question of dependence: "how model size influences sampling efficiency"
            r"|\bhow (?:the )?[\w-]+(?: [\w-]+){0,2} (?:influences?|affects?|impacts?|shapes?)\b"
        ),
        False,
    ),
    "trend": (
        _rx(
            r"\b(?:improv|increas|decreas|decay|grow|drop|reduc|declin|degrad|worse|better|gain|"
            r"plateau|saturat|level(?:s|ed)? off|diminish|hallucinate less|rises?\b)\w*"
            r"(?:\s+[\w-]+){0,6}\s+(?:as|with)\s+(?:the\s+)?(?:increas|more|larger|bigger|longer|"
            r"additional|scal|growing|model|data|pre-?training|(?:the\s+)?(?:number|amount|size))"
            # "as the model size increases", "as compute budgets increase", "as the number of
            # parameters grows": a scale quantity's growth, the verb singular or plural
            r"|\bas\s+(?:the\s+)?(?:model|data(?:set)?|training|compute"
            r"|pre-?training|number|amount|size)[\w\s-]{0,40}?"
            r"(?:increases?|grows?|scales?)\b"
            r"|\bwith\s+(?:increas\w+|more)\s+[\w\s-]{0,30}?,\s"
            r"|\b(?:improv|gain|decreas|reduc|degrad)\w*\s+(?:\w+\s+){0,3}with\s+"
            r"(?:more|increas\w*|larger|additional|parallel|longer|growing)\s+(?:\w+\s+)?"
            r"(?:sampling|compute|data|scale|size|parameters|tokens|steps|budgets?|length)\b"
            r"|(?:additional|more|extra|increas\w*)\s+(?:computation|compute|data|parameters"
            r"|samples|tokens)"
            r"[\w\s]{0,20}?\b(?:yields?|gives?|leads? to|brings?)\s+(?:diminishing|smaller|larger"
            r"|better|worse)"
            r"|\b(?:adding|more|increasing|additional)\s+(?:layers|parameters|data|compute|tokens|"
            r"examples|experts)\b[\w\s]{0,30}?\b(?:benefit|help|improv|hurt|degrad)"
            r"|\b(?:larger|bigger)\s+(?:and\s+longer-trained\s+)?(?:models?|LMs|networks?)\b"
            r"[\w\s-]{0,30}?\b(?:perform|hallucinate|are\s+(?:more|less))"
        ),
        False,
    ),
    # Verb forms only: "colour saturation" or a "saturating activation" is not a trend.
    "saturation": (
        _rx(
            r"\b(?:plateau(?:s|ed|ing)?|saturat(?:es|ed)|saturating(?! (?:activation|non-?linear))"
            r"|reach(?:es|ed)? a plateau|levels? off|leveled off|diminishing returns)\b"
            r"|(?:performance|accuracy|loss|gains?|improvements?|returns?) saturation"
        ),
        False,
    ),
    "predictable": (
        _rx(
            r"\bpredictabl[ey]\b|\bpredict(?:s|ed|ing)?\s+(?:the\s+)?(?:loss|performance|accuracy|"
            r"largest|optimal|critical)"
        ),
        False,
    ),
    "impact": (
        _rx(
            # a flat trend ("model size has little impact on performance"); "a significant
            # impact" only says a quantity matters, which is no relationship across scale
            r"(?:little|no|minimal|negligible|marginal)\s+(?:impact|effects?|influence)"
            r"\s+(?:on|of)\b"
        ),
        False,
    ),
}

# A title naming scaling laws outright: the paper is about one (see ``extract``'s fallback).
TITLE_SCALING_LAW = _rx(r"\bscaling[- ]laws?\b")
TITLE_LAW = _rx(
    r"scaling[- ]laws?|\b[A-Z][\w-]*\s+law\b|inverse scaling|scales? predictably|"
    r"scale reliably|scaling is predictable|\bpower[- ]laws?\b"
)

# A sentence that merely recalls what others found: background, not this paper's claim.
BACKGROUND = _rx(
    r"^(?:recent|prior\b|previous|existing|modern|many\b(?!-)|most\b|much|despite|although|while|though|"
    r"inspired|motivated|driven|following|work on|empirical scaling laws prescribe|"
    r"scaling laws (?:have|are|offer|provide|predict|signify|play|validate)|"
    r"(?:neural |empirical )?scaling laws? (?:principles )?(?:indicate|prescribe|suggest)|"
    r"the (?:success|remarkable|performance emergence|impressive|push)|large (?:language )?models|"
    r"it (?:is|has been)|language models have been|scaling (?:up|data|has)|"
    r"(?:the\s+)?(?:neural\s+|empirical\s+)?scaling[- ]laws?\b|(?:a|the) (?:growing|large) body|"
    r"there (?:has|have) been|as (?:models|LLMs)|conventional wisdom)"
    r"|\b(?:has|have) been (?:empirically )?(?:shown|demonstrated|observed|found|validated)"
    r"|\bis (?:commonly|widely) believed|\binspired by\b|\bdriven by (?:the )?(?:data )?scaling"
    r"|\bet al\b|\bprior (?:work|studies)|\bprevious (?:work|studies|research)"
    r"|\bknown as (?:a |the )?neural scaling law"
    # a field's laws stated in general ("Deep learning scaling laws predict how ..."); not ours
    # ("our", "these", "the fitted" scaling laws) nor one named after its result
    r"|^(?:(?!(?:these|this|such|our|its|their|resulting|fitted|derived|proposed|obtained|new"
    r"|same|both|we|two|three)\b)[\w-]+\s+){1,3}scaling[- ]laws?\s+(?:have|are|offer|provide"
    r"|predict|describe|suggest|indicate|show|relate|characteri[sz]e|govern|dictate|prescribe"
    r"|quantify)\b"
)
# Sentences about releasing code, data or models state no finding.
RELEASE = _rx(
    r"\b(?:we (?:will )?(?:release|open-source|make)|"
    r"(?:code|data|models?|dataset) (?:is|are|will be) (?:publicly )?(?:available|released)|"
    r"https?://|github\.com)"
)
# Power laws of data, physics laws and the like: not a scaling law of a model.
NOT_A_LAW = _rx(
    r"\b(?!Chinchilla|Kaplan|Hoffmann)[A-Z][a-z]+'s? laws?\b"
    r"|power[- ]law (?:distribut\w+|tails?|frequenc\w+)|heavy[- ]tailed|\bZipf\w*|Moore's law|"
    r"law enforcement|\blaws? of (?:physics|motion|nature|thermodynamics|large numbers)"
    r"|\b(?:case|criminal|civil|contract|tax|international|privacy"
    r"|constitutional|patent|copyright|conservation|legal) laws?\b|\blaws? and regulations"
    # a power law used as a tool (a learning-rate schedule, a prior, a random graph), not found
    r"|\bpower[- ]law (?:learning[- ]rate |LR )?(?:schedul\w*|warm-?up|priors?|initiali[sz]\w*"
    r"|random graphs?|graphs?|networks? model)"
)
# "scaling" as a multiplicative factor (the guide's activation, feature or logit scaling): its
# "scaling function", "scaling coefficients" or "scaling effect" is no law of scale.
SCALING_FACTOR = _rx(
    r"\b(?:learn(?:able|ed)|per-(?:channel|token|tensor|group)|(?:channel|layer|element|token"
    r"|group|tensor|row|column)-wise|adaptive|dynamic|temperature|activation|feature|logits?"
    r"|gradient|loss|reward|rotary|RoPE|NTK|frequency|positional|attention|image|intensity"
    r"|contrast|colou?r|multiplicative)[- ]scaling(?: (?:factors?|coefficients?|functions?"
    r"|parameters?|vectors?|effects?|schemes?|methods?|strateg(?:y|ies)|terms?))?"
    r"|\bscaling (?:factors?|vectors?|matri(?:x|ces))\b(?:\s+(?:coefficients?|functions?))?"
)
# Properties of the training data that are not its amount: "training data quality" names no
# scale quantity (blanked before the variable patterns are read).
DATA_PROPERTY = _rx(
    r"\b(?:training |pre-?training )?data(?:set)? (?:quality|distributions?|composition"
    r"|diversity|selection|contamination|attribution|privacy|leakage|curation"
    r"|filtering|format)\b"
)
# Phrases that cite a law as motivation; blanked before the relation cues are applied.
HEARSAY = _rx(
    r"\b(?:bounded|driven|inspired|guided|motivated|dictated|governed|predicted) by (?:the )?"
    r"(?:neural |data |empirical )?scaling[- ]laws?(?: phenomenon| of LLMs)?"
    r"|\b(?:following|according to|based on) (?:the )?(?:neural )?scaling[- ]laws?"
    # a published law named by its paper or model ("following the Chinchilla scaling laws")
    r"|\b(?:following|according to|based on|per) (?:the )?(?:Chinchilla|Kaplan|Hoffmann|OpenAI|"
    r"DeepMind)(?:\s+et al\.?)?(?:['\u2019]s)?(?: \(\d{4}\))? (?:neural |compute[- ]optimal )?"
    r"scaling[- ]laws?"
    r"|\b(?:transcend\w*|existing|standard|conventional|established|original|traditional"
    r"|prevailing)"
    r" (?:neural |pretraining |pre-training )?scaling[- ]laws?(?: function)?"
    # a law used as a tool for something else ("we use scaling laws to select data") is cited,
    # unless it is used to study, fit or compare
    r"|\b(?:leverag|exploit|us|apply|appli|employ|utiliz)\w* (?:the |existing |known )?"
    r"(?:neural )?scaling[- ]laws? (?:to|for) (?!stud|analy|investigat|understand|examin|compar"
    r"|estimat|deriv|fit|predict|extrapolat|forecast)"
)
# Sentences about algorithmic cost: "scales linearly" there is complexity, not a scaling law.
COMPLEXITY = _rx(
    r"\bcomplexity\b|\bO\(|\blatency\b|\bthroughput\b|\bmemory (?:usage|footprint|cost)"
    r"|\bspeed-?ups?\b|\b(?:number of )?(?:GPUs|nodes|devices|workers|cores|accelerators)\b"
    r"|wall-?clock"
)
# Another field's subject matter: a paper naming one of these and no machine-learning term
# (``ML_CONTEXT``) is from outside machine learning, and the guide counts its power laws of
# physical quantities (astrophysics, conformal field theory) as false.
OTHER_FIELD = _rx(
    r"\bastro\w*|galax\w*|magnetars?|radio bursts?|cosmolog\w*|conformal field|gravit\w*"
    r"|quantum field|black holes?|supernova\w*|stellar|turbulen\w*|plasma|seismic|earthquake"
    r"|condensed matter|spin glass|critical phenomena|\bIsing\b|percolation|string theory"
    r"|particle physics|hadron\w*|quarks?\b|\bCFTs?\b|luminosit\w*|X-ray|\bdark matter"
)
ML_CONTEXT = _rx(
    r"neural|deep learning|machine learning|\blearn\w*|\btrain\w*|\bLLMs?\b|transformer"
    r"|pre-?train|fine-?tun|language models?|\bGPT|\bBERT|\bSGD\b|gradient descent|\bAI\b"
    r"|artificial intelligence|reinforcement|embedding|\binference\b|benchmark"
    r"|batch[- ]sizes?|learning[- ]rates?|hyper-?parameters?|optimi[sz]ers?\b"
)
# A sentence describing the experimental grid: the quantities it names are the ones varied.
SETUP = _rx(
    r"\b(?:ranging|spanning|from)\b[^.]{0,40}?\b(?:to|up to)\b|\bvarying\b|\bvarious\b|"
    r"\bdifferent (?:sizes|scales)|\bacross (?:a wide range|orders of magnitude|\w+ scales)"
    r"|\bup to\b"
)
# -- further findings of a paper already judged to state a scaling claim ------------------------
# name -> pattern. Once a paper has a claim, its own sentences (not background, not a release
# note) that name a scale quantity and one of these cues are further findings about that
# quantity ("We also discovered that diversity is directly related to model width"). They never
# make a paper positive. ``extract.SUPPORT_CUES`` lists the ones in use, chosen by
# cross-validation on the dev split (benchmarks/cv_claims.py).
SUPPORT_PATTERNS: dict[str, re.Pattern[str]] = {
    # a reported result: "we find/show/observe ...", "our results indicate ..."
    "finding": _rx(
        r"\bwe (?:also |further )?(?:find|found|show|observe|demonstrate|discover(?:ed)?|reveal"
        r"|confirm)\b|\bour (?:findings|results|analysis|experiments) (?:show|indicate|suggest"
        r"|reveal)|\bresults (?:show|indicate|suggest|reveal)"
    ),
    # a stated link: "diversity is directly related to model width"
    "related": _rx(r"\b(?:directly |inversely |closely |strongly )?related to\b"),
    # "negatively correlated with", "correlates with"
    "correlated": _rx(r"\bcorrelat\w+ with\b"),
    # a prediction from the quantity: "use model and data size to predict a task loss"
    "predicts": _rx(r"\bpredict\w*"),
    # a comparison at a fixed amount: "for equivalent compute budgets", "for a fixed dataset"
    "fixed_budget": _rx(r"\bfor (?:a )?(?:fixed|given|equivalent|equal|same)\b"),
    # a dependence: "the optimum depends on the data size"
    "depends_on": _rx(r"\bdepends? (?:on|upon)\b"),
    # a what-if in the quantity: "given more compute"
    "given_more": _rx(r"\bgiven (?:more|increasing|a fixed|a given)\b"),
}

FIRST_PERSON = _rx(
    r"\b(?:we|our|us)\b|\bthis (?:paper|work|study|report)\b|\bresults? (?:show|indicate|suggest"
    r"|reveal)"
    r"|\bfindings\b|\bexperiments? (?:show|indicate|reveal)"
)

# -- labels ----------------------------------------------------------------------------------
VARIABLE_PATTERNS: dict[str, re.Pattern[str]] = {
    "inference_compute": _rx(
        r"test[- ]time (?:compute|computation|scaling|budgets?|interaction|samples)"
        r"|inference[- ](?:time )?(?:compute|computation|scaling|budgets?|FLOPs|samples)"
        r"|inference time|generation length|output token length|number of (?:generated |sampled )?"
        r"(?:samples|candidates|attempts|rollouts|generations|votes)|(?:re|repeated )sampling"
        r"|majority voting|voting numbers|self-consistency|best-of-[Nk]\b"
        r"|thinking (?:budgets?|tokens|length)|reasoning (?:length|tokens|budgets?)"
        r"|chain[- ]of[- ]thought length|\bTTS\b"
        r"|parallel sampling|scaling budget|samples at inference"
        # a diffusion model's steps at generation time, not training steps
        r"|\b(?:sampling|denoising) steps\b"
    ),
    "finetuning_data": _rx(
        r"fine-?tuning (?:examples|data(?:set)?s?(?: size)?|samples|set size)|number of finetuning"
        r"|instruction(?:[- ]tuning)? data|SFT data|post-training (?:data|examples)"
        r"|quantity of difficult problems|(?:amount|size|number) of (?:the )?(?:fine-?tuning|SFT"
        r"|instruction)|data amounts?"
    ),
    "datastore_size": _rx(r"datastore"),
    "batch_size": _rx(r"batch[- ]sizes?|\bB_?(?:opt|crit)\b|mini-batching"),
    "training_steps": _rx(
        r"training (?:steps|time|iterations|duration|epochs|length|horizon)|\bsteps?\s*\(s\)"
        r"|number of (?:training |gradient |optimi[sz]ation )?(?:steps|iterations|epochs|updates)"
        r"|increasing epochs|longer[- ]trained|longer training|iteration counts"
        r"|throughout training|during training|over training|training checkpoints"
        r"|\b(?:multiple|more|repeated) epochs\b"
        # the guide counts epochs as training steps, however they are introduced
        r"|\bepochs\b"
    ),
    "compute": _rx(
        r"(?<!test-time )(?<!inference )(?<!we )(?<!to )"
        r"\bcompute(?! requirement| cost| the\b| a\b| an\b| its\b| their\b)"
        r"(?:[- ]budgets?|[- ]optimal)?\b|"
        r"computational (?:resources|budget)|\bFLOPs\b|floating point operation|GPU[- ]hours"
        r"|training budget|compute budgets?|training compute|amount of compute"
    ),
    "precision": _rx(
        r"(?<!average )(?<!recall and )(?<!recall, )\bprecision\b(?! training| and recall|, recall"
        r"|/recall|@)|\bbit[- ]?widths?|\b\d+-bit\b|quantization granularity"
        r"|number of bits|bits per (?:parameter|weight)|low-precision"
        # bare "bits" of weights or activations; "bits per byte/character" is a loss, not precision
        r"|\b(?:\d+|fewer|more|lower|higher) bits\b(?! per (?:byte|char|dim|token|pixel|sample))"
    ),
    "num_experts": _rx(
        r"number of (?:activated |routed )?experts|expert (?:count|activation ratio|granularity)|"
        r"activated experts|experts? per token|granularity of (?:the )?experts|fine-grained experts"
    ),
    "depth": _rx(
        # not "in-depth" or "depth-wise" convolutions
        # nor a measurement's depth (sequencing or sampling depth of a sample, a colour's bits)
        r"(?<!in-)(?<!sampling )(?<!sequencing )(?<!read )(?<!coverage )(?<!bit )(?<!color )"
        r"(?<!colour )(?<!reasoning )(?<!proof )(?<!search )(?<!tree )(?<!recursion )"
        # nor a task's depth ("the depth of the required proof", "reasoning depth")
        r"\bdepth\b(?!-(?:wise|first))(?! of (?:the )?(?:required |needed )?(?:proofs?|reasoning"
        r"|search|trees?|recursion|planning))|number of layers|adding layers"
        r"|(?:more|fewer) layers|layer counts?"
        r"|deeper (?:models|networks|transformers)"
    ),
    "width": _rx(
        # a "bit-width" is a precision
        r"(?<!bit-)\bwidths?\b|hidden (?:dimensions?|sizes?|units)|model dimensions?"
        r"|\bfan-(?:in|out)\b"
        r"|channel numbers|width scaling|number of (?:neurons|hidden units|channels)"
        # a sparse autoencoder's hidden units: its latents, its dictionary
        r"|number of (?:SAE )?latents|dictionary sizes?|\bSAE (?:width|size)s?\b"
        r"|embedding dimensions?"
    ),
    "data_size": _rx(
        r"\bdata(?:set)?[- ](?:sizes?|scales?|quantity)|(?:size|amount|quantity|volume|scale) of "
        r"(?:the )?(?:pre-?)?training (?:data|sets?\b|tokens|corpus)"
        r"|training (?:data|tokens|set size"
        r"|sets? grow|images|examples|samples)|"
        r"\b(?:training|pre-?training) data\b|number of (?:training |unique |pre-?training )?"
        r"(?:tokens|observations|examples|samples|images|data points|demonstrations|trajectories)"
        r"|samples seen|\b(?:training|pre-?training|unique|text|more|fewer|data|\d[\d.,]*\s?[KMBT]?"
        r"|(?:thousand|million|billion|trillion)s?|\bD) tokens\b|tokens (?:seen|processed|of data)"
        r"|trained (?:on|with) (?:\w+ ){0,2}tokens\b|\b(?:more|additional|less) data\b"
        r"|\bdata scaling"
        r"|\bscaling (?:the )?data"
        r"|amount of (?:pre-?training )?data|data volume|training sets?\b|dataset sizes?"
        r"|corpus size"
        r"|\bmodels? and data\b|\b(?:with|of) (?:the )?data\b|token volume|\bdemonstrations\b"
        r"|\bscal\w*\s+(?:\w+\s+){0,3}and data\b"
        r"|\bsize of (?:the )?(?:training )?(?:data(?!store)|corpus)"
        # "data" listed beside another scale quantity: "compute and data", "parameters, or data"
        r"|\b(?:compute|parameters|model size|size),? (?:and|or) data\b"
        # ... or before one, as a list's item: "data and compute", "parameter, data, and compute"
        # (lookarounds: the match is the word "data" alone, so the grammar's lists still split)
        r"|(?:(?<=parameter, )|(?<=parameters, )|(?<=compute, ))data(?=,? (?:and|or)\b)"
        r"|\bdata(?=,? (?:and|or) (?:compute|parameters|model size)\b)"
    ),
    "model_size": _rx(
        r"model(?:[- ]parameter)?[- ](?:size|scale|capacity|count|grade)s?"
        r"|sizes? of (?:the )?(?:[\w-]+ ){0,2}(?:models?|networks?|LMs|LLMs)\b|"
        r"number of (?:model |trainable |non-embedding )?parameters|\bparameter (?:count|scal\w*)"
        r"|\bparameter(?=, (?:data|compute)\b)"
        r"|(?<!hyper-)(?<!meta-)\bparameters\b"
        r"|(?:larger|bigger|smaller) (?:language |vision |transformer )?(?:models"
        r"|LMs|LLMs|networks)|scaling up (?:\w+ )?models|"
        # a larger one of any kind of network ("progressively larger vision transformer backbones")
        r"(?:larger|bigger) (?:[\w()-]+ ){0,3}(?:backbones|transformers|ViTs|encoders|decoders)\b|"
        r"(?:network|autoencoder|encoder|decoder|teacher|student|detector|backbone) sizes?"
        r"|\bmodel scale\b|\bscale of the (?:LM|model|network)|\bscaled up\b|\bmodel scaling\b"
        r"|\b\d+(?:\.\d+)?[MBK] parameters?|\b\d+(?:\.\d+)?[MBK]?\s?(?:to|-)\s?\d+(?:\.\d+)?[MB]\b"
        r"|\bmodels?(?: and|,| or) (?:data(?:set)?|samples?|compute)\b|(?:increas\w+"
        r"|larger) (?:model )?scale|(?:models|LMs|LLMs|networks) of (?:different|various|varying"
        r"|increasing) sizes"
        r"|\b(?:with|across|at (?:larger|different|various)) scales?\b|\b(?:small"
        r"|smaller) models\b|\bscal(?:ing|e) up\b(?! (?:the )?(?:data|test))"
    ),
    "other": _rx(
        r"mixture ratios?|domain weights?|number of (?:tasks|real domains|deepfake methods|"
        r"parallel streams)|intrinsic dimension|\bd_\{?(?:data|repr)|parallel (?:streams"
        r"|computation)|"
        r"width-depth ratio|task diversity|memory length|richness of the training task|"
        r"quantization group size|\bUTD\b|updates-to-data|task scaling|"
        r"\bP parallel|number of (?:training )?(?:environments|objects|languages)|adding languages"
        # the guide's "resolution" (of images or inputs) as a scale quantity
        r"|\b(?:image|input|spatial) resolutions?\b"
        # the size of each input, like its resolution: frames of a video, tokens per image
        r"|number of (?:input |video |sampled )?frames|\b(?:number of |count of )?(?:visual|image)"
        r" tokens\b|tokens per (?:frame|image)|\bcontext (?:length|size)s?\b"
    ),
}

# "predicts with high accuracy" is about the prediction, not an accuracy that scales.
PREDICTION_ACCURACY = _rx(
    r"(?:prediction|predictive|extrapolation|fit(?:ting)?) accuracy|"
    r"(?:with|to) (?:good|high|excellent|sufficient|remarkable) (?:prediction )?accuracy|"
    r"accuracy (?:of|in) (?:the |our )?(?:prediction|performance inference|fit|estimat)\w*|"
    r"accurately|prediction accuracy|"
    r"(?:high|moderate|good|excellent) accuracy (?:for|in predicting|of)"
)

RESPONSE_PATTERNS: dict[str, re.Pattern[str]] = {
    "optimal_model_size": _rx(
        r"\boptimal (?:model[- ](?:size|parameter)|token[- ]to[- ]parameter|model-parameter-count|"
        r"N and D|sizing)|compute[- ]optimal (?:model size|N\b|allocation)"
        r"|model size scales sublinearly|"
        r"predicting the model size"
    ),
    "optimal_hyperparameter": _rx(
        r"\boptimal (?:learning rate|batch size|hyper-?parameters?|weight decay|\{?\\?lambda|"
        r"timescale|mixture ratio|data mixture|domain weights|number of samples|lr)"
        r"(?: and (?:the )?(?:learning rate|batch size|weight decay))?|"
        r"critical batch size|\bB_?(?:opt|crit)\b|learning[- ]rates? (?:as a function|scal"
        r"|transfer|rule)|"
        r"hyper-?parameters?\b.{0,40}\bscal|scal\w*\b.{0,40}\bhyper-?parameters?|"
        r"largest useful batch size|"
        r"maximal learning rates?|weight-decay scaling|spectral norms?\b"
    ),
    "efficiency": _rx(
        r"efficiency leverage|\bEL\b|computational advantage|\bspeed-?ups?\b"
        r"|acceptance (?:rates?|lengths?)"
    ),
    "loss": _rx(
        r"(?<!plasticity )(?<!information )(?<!compression )\bloss(?:es)?\b"
        r"(?! of generality| landscape| function)|cross[- ]entropy|perplexity|\bnats\b|\bMSE\b|"
        r"log-likelihood|reconstruction"
        # the statistical learning name of the expected loss
        r"|\b(?:population|excess|test|generali[sz]ation|expected|prediction|Bayes|empirical)"
        r" risks?\b"
    ),
    "error": _rx(r"\berrors?\b(?! correction)|error rates?|\bWER\b|hallucinat\w*"),
    "accuracy": _rx(r"\baccuracy\b|\baccuracies\b"),
    "downstream_performance": _rx(
        r"performance|downstream|\bBLEU\b|(?<!data )(?<!annotation )\bquality|capabilit(?:y|ies)"
        # not "scalability", "probability", "successfully"
        r"|\bscores?\b|\bsuccess(?:es)?\b(?! of)|(?<!predictive )\babilit(?:y|ies)(?! to)"
        r"|benchmarks?"
    ),
    # Measures of behaviour other than quality (the labelling guide's "other" response).
    "other": _rx(
        r"\brobustness\b|\bactivation sparsity\b|attack success|memori[sz]ation"
        r"|\bcalibration\b|\btoxicity\b|\btruthfulness\b|massive activations"
        r"|activation (?:magnitudes?|outliers)"
    ),
}

# A sentence naming one of these means task performance, not just "performance".
DOWNSTREAM_EXPLICIT = _rx(
    r"downstream|\bBLEU\b|task performance|benchmarks?\b|capabilit"
    r"|(?<!predictive )\babilit(?:y|ies)(?! to)|\bsuccess(?:es)?\b(?! of)|\bscores?\b"
)

# Domain: the first label whose pattern matches the title, else the one matching most often in
# the abstract (ties broken by this order, which puts specific domains before general ones).
DOMAIN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("time_series", _rx(r"time[- ]series|forecasting")),
    ("recsys", _rx(r"recommend\w*|\bCTR\b|click-through")),
    ("robotics", _rx(r"\brobot\w*|manipulation polic|dexterous|embodied")),
    ("speech", _rx(r"\bspeech\b|\bASR\b|acoustic|\baudio\b")),
    (
        "rl",
        _rx(
            r"reinforcement learning|\bdeep RL\b|\bRL agents?\b|offline RL|Atari|\bDota\b"
            r"|value-based"
        ),
    ),
    (
        "science",
        _rx(
            r"molecul\w*|protein|\bPDEs?\b|chemi\w+|atomistic|interatomic|materials|neuron\w*|"
            r"\bbrain\b|fMRI|neuroscience|\bastro\w*|radio bursts?|magnetar|quantum|"
            r"conformal field|gravity|climate|genom\w*"
        ),
    ),
    (
        "multimodal",
        _rx(
            r"vision[- ]language|multi-?modal|image[- ]text|text[- ]image|\bVLMs?\b|\bMLLMs?\b|"
            r"\bCLIP\b|captions?"
        ),
    ),
    (
        "vision",
        _rx(
            r"\bimages?\b|\bvision\b|visual|\bViTs?\b|ImageNet|\bvideos?\b|\b3D\b|detection|"
            r"segmentation|diffusion|\bConvNets?\b|\bCNNs?\b|pixel"
        ),
    ),
    (
        "language",
        _rx(
            r"language models?|\bLLMs?\b|\bLMs?\b|\bNLP\b|translation|\btext\b|\bBERT\b|\bGPT|"
            r"tokens?\b|reasoning|instruction"
        ),
    ),
    (
        "theory",
        _rx(
            r"\btheor(?:y|etical\w*)\b|solvable model|random feature|\bwe prove\b|toy model|"
            r"random matrix|infinite-width|mean-field|kernel regime"
        ),
    ),
)
