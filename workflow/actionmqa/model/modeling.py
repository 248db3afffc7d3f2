"""LLaVAction on transformers' LLaVA-OneVision: the video token layout, the action token and its heads.

The input ids carry one `<video>` placeholder per visual token and, when the action token is on,
one `<action>` placeholder right after the visual block (spec §3.2). The model fills the first
with video features and the second with a learned embedding; the verb, noun and action heads
read the last (post-norm) hidden state at the `<action>` position. Causal attention alone makes
that position a summary of the video, like a CLS token.

Video only: LLaVA-OneVision's still-image path (anyres tiling) is not carried over, since no
benchmark here uses images. As upstream, the tower's ``post_layernorm`` is never used (features
come from the last stored layer before it), so DDP needs ``find_unused_parameters`` or a frozen tower.
"""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModel, GenerationMixin
from transformers import initialization as init
from transformers.cache_utils import Cache
from transformers.modeling_utils import slice_logits_to_keep
from transformers.models.llava_onevision.modeling_llava_onevision import (
    LlavaOnevisionCausalLMOutputWithPast,
    LlavaOnevisionModelOutputWithPast,
    LlavaOnevisionMultiModalProjector,
    LlavaOnevisionPreTrainedModel,
)
from transformers.utils.generic import can_return_tuple, merge_with_config_defaults
from transformers.utils.output_capturing import select_hidden_states

from actionmqa.model.configuration import LlavaActionConfig
from actionmqa.model.layout import arrange_video, pool_frames

IGNORE_INDEX = -100
HEADS = ("verb", "noun", "action")


@dataclass
class LlavaActionOutput(LlavaOnevisionCausalLMOutputWithPast):
    """The causal-LM output plus every loss term and head output, so a trainer can log them apart.

    ``loss = lm_loss + w_verb * verb_loss + w_noun * noun_loss + w_action * action_loss``. Head
    logits are ``[batch, classes]``; rows without an `<action>` placeholder hold zeros.
    """

    lm_loss: torch.Tensor | None = None
    verb_loss: torch.Tensor | None = None
    noun_loss: torch.Tensor | None = None
    action_loss: torch.Tensor | None = None
    verb_logits: torch.Tensor | None = None
    noun_logits: torch.Tensor | None = None
    action_logits: torch.Tensor | None = None


class LlavaActionPreTrainedModel(LlavaOnevisionPreTrainedModel):
    config_class = LlavaActionConfig

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        # Upstream creates action_supervision with torch.empty and never initialises it; draw it like
        # image_newline instead, also when from_pretrained finds it missing (a base checkpoint with
        # the token switched on).
        super()._init_weights(module)
        if isinstance(module, LlavaActionModel):
            std = self.config.text_config.hidden_size**-0.5
            init.normal_(module.image_newline, mean=0.0, std=std)
            if module.action_embedding is not None:
                init.normal_(module.action_embedding, mean=0.0, std=std)


class LlavaActionModel(LlavaActionPreTrainedModel):
    """LLaVA-OneVision's tower, projector and language model, with the video layout and the action embedding.

    The same parameter names as ``LlavaOnevisionModel``, so its weights load unchanged.
    """

    def __init__(self, config: LlavaActionConfig):
        super().__init__(config)
        hidden = config.text_config.hidden_size
        self.vision_tower = AutoModel.from_config(config.vision_config)
        self.multi_modal_projector = LlavaOnevisionMultiModalProjector(config)
        self.image_newline = nn.Parameter(torch.randn(hidden, dtype=self.dtype) * hidden**-0.5)
        self.action_embedding: nn.Parameter | None = None
        if config.action_token:
            self.action_embedding = nn.Parameter(torch.randn(1, hidden, dtype=self.dtype) * hidden**-0.5)
        self.language_model = AutoModel.from_config(config.text_config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    @merge_with_config_defaults
    @can_return_tuple
    @select_hidden_states("vision_feature_layer")
    def get_video_features(
        self,
        pixel_values_videos: torch.Tensor,
        vision_feature_layer: int | list[int] | None = None,
        vision_feature_select_strategy: str | None = None,
        **kwargs,
    ):
        """``[batch, frames, 3, H, W]`` -> ``pooler_output`` ``[batch, tokens, hidden]``, config layout."""
        batch, frames = pixel_values_videos.shape[:2]
        vision_outputs = self.vision_tower(pixel_values_videos.flatten(0, 1), return_dict=True, **kwargs)
        if isinstance(vision_feature_layer, int):
            selected = vision_outputs.hidden_states[vision_feature_layer]
        else:
            selected = torch.cat([vision_outputs.hidden_states[i] for i in vision_feature_layer], dim=-1)
        if vision_feature_select_strategy == "default":
            selected = selected[:, 1:]
        pooled = pool_frames(self.multi_modal_projector(selected), self.config)
        vision_outputs.pooler_output = arrange_video(
            pooled.unflatten(0, (batch, frames)), self.image_newline, self.config
        )
        return vision_outputs

    def insert_action_embedding(self, input_ids: torch.Tensor, inputs_embeds: torch.Tensor) -> torch.Tensor:
        """Put the learned embedding at every `<action>` placeholder (its vocabulary row is never trained)."""
        if self.config.action_token_id is None:
            return inputs_embeds
        is_action = (input_ids == self.config.action_token_id).unsqueeze(-1)
        if self.action_embedding is None:
            if is_action.any():
                raise ValueError("action_token is off, but input_ids hold <action> placeholders")
            return inputs_embeds
        return torch.where(is_action, self.action_embedding.to(inputs_embeds.dtype), inputs_embeds)

    @merge_with_config_defaults
    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> LlavaOnevisionModelOutputWithPast:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids or inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)

        video_features = None
        if pixel_values_videos is not None:
            if input_ids is None:
                raise ValueError(
                    "<video> placeholders are found by id: pass input_ids with pixel_values_videos"
                )
            video_features = self.get_video_features(pixel_values_videos).pooler_output
            video_features = video_features.flatten(0, 1).to(inputs_embeds.device, inputs_embeds.dtype)
            is_video = input_ids == self.config.video_token_id
            if int(is_video.sum()) != video_features.shape[0]:
                raise ValueError(
                    f"{int(is_video.sum())} <video> placeholders for {video_features.shape[0]} visual tokens"
                )
            inputs_embeds = inputs_embeds.masked_scatter(is_video.unsqueeze(-1), video_features)
        if input_ids is not None:
            inputs_embeds = self.insert_action_embedding(input_ids, inputs_embeds)

        outputs = self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )
        return LlavaOnevisionModelOutputWithPast(
            last_hidden_state=outputs.last_hidden_state,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            video_hidden_states=video_features,
        )


def supervised_lm_loss(
    hidden_states: torch.Tensor,
    labels: torch.LongTensor,
    lm_head: nn.Module,
    num_items_in_batch: torch.Tensor | int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The next-token loss, the LM head run only where a label follows; (loss, those logits).

    The loss of transformers' ``ForCausalLMLoss`` (the mean over supervised tokens, or their sum
    over ``num_items_in_batch``), but a training prompt is mostly video and question, so the
    head's ``hidden x vocab`` product on every position was a large share of a toy step for nothing.
    """
    targets = labels[:, 1:]
    supervised = targets != IGNORE_INDEX
    logits = lm_head(hidden_states[:, :-1][supervised])
    if num_items_in_batch is None:
        return nn.functional.cross_entropy(logits.float(), targets[supervised]), logits
    total = nn.functional.cross_entropy(logits.float(), targets[supervised], reduction="sum")
    return total / num_items_in_batch, logits


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over rows whose target is >= 0.

    Rows marked -1 add exactly zero yet stay in the graph (zero times their loss), so every
    head receives a (zero) gradient on every rank and DDP/ZeRO never wait for an unused one.
    """
    valid = targets >= 0
    per_row = nn.functional.cross_entropy(logits.float(), targets.clamp(min=0), reduction="none")
    return (per_row * valid).sum() / valid.sum().clamp(min=1)


class LlavaActionForConditionalGeneration(LlavaActionPreTrainedModel, GenerationMixin):
    """LLaVA-OneVision for generation, plus verb/noun/action heads on the `<action>` state when it is on."""

    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}

    def __init__(self, config: LlavaActionConfig):
        super().__init__(config)
        hidden = config.text_config.hidden_size
        self.model = LlavaActionModel(config)
        self.lm_head = nn.Linear(hidden, config.text_config.vocab_size, bias=False)
        if config.action_token:
            self.verb_head = nn.Linear(hidden, config.num_verbs, bias=False)
            self.noun_head = nn.Linear(hidden, config.num_nouns, bias=False)
            self.action_head = nn.Linear(hidden, config.num_actions, bias=False)
        self.post_init()

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def action_states(
        self, input_ids: torch.Tensor, hidden_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden state at each row's `<action>` (zeros where a row has none) and which rows have one."""
        is_action = input_ids == self.config.action_token_id
        counts = is_action.sum(-1)
        if bool((counts > 1).any()):
            raise ValueError("a sequence holds more than one <action> placeholder")
        present = counts == 1
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        states = hidden_states[rows, is_action.int().argmax(-1)]
        return torch.where(present.unsqueeze(-1), states, torch.zeros_like(states)), present

    @staticmethod
    def action_targets(actions: torch.Tensor | None, present: torch.Tensor) -> torch.Tensor:
        """``actions``, or all -1 when absent; a labelled row needs an `<action>` for its heads to read."""
        if actions is None:
            return torch.full((len(present), len(HEADS)), -1, dtype=torch.long, device=present.device)
        if bool(((actions >= 0).any(-1) & ~present).any()):
            raise ValueError("a row has action labels but no <action> placeholder")
        return actions

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        actions: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        supervised_logits_only: bool = False,
        **kwargs,
    ) -> LlavaActionOutput:
        r"""
        labels (`torch.LongTensor` of shape `(batch, seq)`, *optional*):
            LM targets, -100 where not supervised; the `<action>` position is forced to -100 here too.
        supervised_logits_only (`bool`, *optional*):
            With `labels` (training): run the LM head only at the positions a label follows, and
            return just those logits, `(supervised tokens, vocab)`; the loss is the same.
        actions (`torch.LongTensor` of shape `(batch, 3)`, *optional*):
            (verb, noun, action) class ids per row; -1 where a row has no such label. With `labels` and
            the action token on, a missing `actions` means every row is -1.
        """
        outputs = self.model(
            input_ids=input_ids,
            pixel_values_videos=pixel_values_videos,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )
        hidden_states = outputs.last_hidden_state
        if labels is not None and self.config.action_token_id is not None and input_ids is not None:
            labels = labels.masked_fill(input_ids == self.config.action_token_id, IGNORE_INDEX)
        lm_loss = None
        if labels is not None and supervised_logits_only:
            lm_loss, logits = supervised_lm_loss(
                hidden_states, labels, self.lm_head, kwargs.get("num_items_in_batch")
            )
        else:
            logits = self.lm_head(slice_logits_to_keep(hidden_states, logits_to_keep))

        # Heads run on the prompt pass (the one holding `<action>`), not on each generated token.
        verb_logits = noun_logits = action_logits = present = None
        if self.config.action_token and input_ids is not None:
            states, present = self.action_states(input_ids, hidden_states)
            if labels is not None or bool(present.any()):
                verb_logits = self.verb_head(states)
                noun_logits = self.noun_head(states)
                action_logits = self.action_head(states)

        loss = verb_loss = noun_loss = action_loss = None
        if labels is not None:
            if lm_loss is None:
                lm_loss = self.loss_function(
                    logits=logits, labels=labels, vocab_size=self.config.text_config.vocab_size, **kwargs
                )
            loss = lm_loss
            if verb_logits is not None:
                targets = self.action_targets(actions, present)
                verb_loss = masked_cross_entropy(verb_logits, targets[:, 0])
                noun_loss = masked_cross_entropy(noun_logits, targets[:, 1])
                action_loss = masked_cross_entropy(action_logits, targets[:, 2])
                weights = self.config.action_loss_weights
                loss = (
                    lm_loss
                    + weights["verb"] * verb_loss
                    + weights["noun"] * noun_loss
                    + weights["action"] * action_loss
                )

        return LlavaActionOutput(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            video_hidden_states=outputs.video_hidden_states,
            lm_loss=lm_loss,
            verb_loss=verb_loss,
            noun_loss=noun_loss,
            action_loss=action_loss,
            verb_logits=verb_logits,
            noun_logits=noun_logits,
            action_logits=action_logits,
        )


__all__ = [
    "LlavaActionForConditionalGeneration",
    "LlavaActionModel",
    "LlavaActionOutput",
    "LlavaActionPreTrainedModel",
    "masked_cross_entropy",
]
